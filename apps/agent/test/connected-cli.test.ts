import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const bin = resolve(dirname(fileURLToPath(import.meta.url)), "../bin/kernflow-agent.js");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function agent(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** A real HTTP server that answers every request with one status and protocol error body. */
async function refusingConsole(status: number, code: string, message: string) {
  const server = createServer((_req, res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code, message } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

describe("kernflow-agent enroll and run (command line)", () => {
  it("prints enroll's and run's flags for --help and exits 0", async () => {
    const enroll = await agent("enroll", "--help");
    expect(enroll.code).toBe(0);
    for (const flag of ["--server", "--token", "--state-dir"]) expect(enroll.stdout).toContain(flag);
    const run = await agent("run", "--help");
    expect(run.code).toBe(0);
    for (const flag of ["--server", "--state-dir", "--bytecode"]) expect(run.stdout).toContain(flag);
  });

  it("exits 2 with the reason on bad enroll flags", async () => {
    const r = await agent("enroll", "--token", "x");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--server is required");
    expect(r.stderr).toContain("kernflow-agent enroll --help");
  });

  it("exits 1 naming why when the token is refused (403), the plan is full (409) or the console is unreachable", async () => {
    const state = mkdtempSync(join(tmpdir(), "kf-enroll-"));
    dirs.push(state);
    const forbidden = await refusingConsole(403, "forbidden", "token expired");
    const full = await refusingConsole(409, "conflict", "plan lab allows 2 devices");
    try {
      const a = await agent("enroll", "--server", forbidden.url, "--token", "t", "--state-dir", state);
      expect(a.code).toBe(1);
      expect(a.stderr).toMatch(/enrollment token refused.*token expired/);
      const b = await agent("enroll", "--server", full.url, "--token", "t", "--state-dir", state);
      expect(b.code).toBe(1);
      expect(b.stderr).toMatch(/no room for another device.*plan lab allows 2 devices/);
      const closed = await refusingConsole(500, "x", "x");
      closed.close();
      const c = await agent("enroll", "--server", closed.url, "--token", "t", "--state-dir", state);
      expect(c.code).toBe(1);
      expect(c.stderr).toMatch(/unreachable \(ECONNREFUSED\)/);
    } finally {
      forbidden.close();
      full.close();
    }
  });

  it.skipIf(process.getuid?.() !== 0)(
    "run exits 1 telling to enroll first when the state dir has no credential",
    async () => {
      const state = mkdtempSync(join(tmpdir(), "kf-run-"));
      dirs.push(state);
      const r = await agent("run", "--state-dir", state);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/not enrolled.*kernflow-agent enroll/);
    },
  );
});
