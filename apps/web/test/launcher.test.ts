import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type LauncherProcess, startLauncher } from "./launcher-process";

const buildId = fileURLToPath(new URL("../.next/BUILD_ID", import.meta.url));
const running: LauncherProcess[] = [];
const homes: string[] = [];

function tempHome(): string {
  const home = mkdtempSync(join(tmpdir(), "kernflow-launcher-"));
  // The embedded PostgreSQL runs as `postgres`, which must be able to enter the folder.
  chmodSync(home, 0o711);
  homes.push(home);
  return home;
}

function launch(env: Record<string, string>): LauncherProcess {
  const launcher = startLauncher(env);
  running.push(launcher);
  return launcher;
}

// SIGTERM first: a SIGKILLed launcher would leave its embedded PostgreSQL running.
afterEach(async () => {
  for (const launcher of running.splice(0)) {
    if (launcher.child.exitCode !== null) continue;
    launcher.child.kill("SIGTERM");
    const stopped = await Promise.race([
      launcher.exited.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 30_000)),
    ]);
    if (!stopped) {
      launcher.child.kill("SIGKILL");
      await launcher.exited;
    }
  }
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

async function signIn(url: string, email: string, password: string): Promise<Response> {
  return fetch(`${url}/api/trpc/auth.login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ json: { email, password } }),
  });
}

describe("console launcher", () => {
  beforeAll(() => {
    if (!existsSync(buildId)) {
      throw new Error(
        `these tests run the built console: run npm run build -w @kernflow/web first (${buildId})`,
      );
    }
  });

  it("serves the console on an embedded database, prints the administrator once, and stops cleanly on SIGTERM", async () => {
    const home = tempHome();
    const first = launch({ PORT: "0", HOST: "127.0.0.1", KERNFLOW_HOME: home });
    const url = await first.ready();

    const printed = /email:\s+(\S+)\n\s+password:\s+(\S+)/.exec(first.output());
    expect(printed, first.output()).not.toBeNull();
    const [, email = "", password = ""] = printed ?? [];
    expect(email).toBe("admin@kernflow.local");
    expect(first.output()).toContain("shown only once");

    const login = await fetch(`${url}/login`);
    expect(login.status).toBe(200);
    expect(await login.text()).toContain("Sign in");
    expect((await signIn(url, email, password)).status).toBe(200);
    expect((await signIn(url, email, `${password}-wrong`)).status).toBe(401);

    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain("stopped");
    // The embedded PostgreSQL removes its pid file when it shuts down.
    expect(existsSync(join(home, "postgres", "postmaster.pid"))).toBe(false);

    // Same data folder again: the administrator exists, so nothing is printed, and the old password works.
    const second = launch({ PORT: "0", HOST: "127.0.0.1", KERNFLOW_HOME: home });
    const secondUrl = await second.ready();
    expect(second.output()).not.toContain("administrator account created");
    expect((await signIn(secondUrl, email, password)).status).toBe(200);
    second.child.kill("SIGINT");
    expect(await second.exited).toBe(0);
  });

  it("does not print a password the operator supplied", async () => {
    const launcher = launch({
      PORT: "0",
      KERNFLOW_HOME: tempHome(),
      KERNFLOW_ADMIN_EMAIL: "ops@example.com",
      KERNFLOW_ADMIN_PASSWORD: "operator-chosen-secret",
    });
    const url = await launcher.ready();
    expect(launcher.output()).toContain("ops@example.com");
    expect(launcher.output()).not.toContain("operator-chosen-secret");
    expect((await signIn(url, "ops@example.com", "operator-chosen-secret")).status).toBe(200);
    launcher.child.kill("SIGTERM");
    expect(await launcher.exited).toBe(0);
  });

  it("exits with a clear error when the port is taken, before starting PostgreSQL", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    try {
      const home = tempHome();
      const launcher = launch({ PORT: String(address.port), HOST: "127.0.0.1", KERNFLOW_HOME: home });
      expect(await launcher.exited).toBe(1);
      expect(launcher.output()).toContain(`port ${address.port} on 127.0.0.1 is already in use`);
      expect(existsSync(join(home, "postgres"))).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it("exits with a clear error for an invalid PORT", async () => {
    const launcher = launch({ PORT: "eighty", KERNFLOW_HOME: tempHome() });
    expect(await launcher.exited).toBe(1);
    expect(launcher.output()).toContain("PORT must be a number");
  });
});
