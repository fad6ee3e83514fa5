import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repositoryRoot = fileURLToPath(new URL("..", import.meta.url));
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;

export interface RunningConsole {
  url: string;
  home: string;
  output: () => string;
  /** SIGTERM, then waits; resolves with the exit code (SIGKILL after a timeout gives null). */
  stop(): Promise<number | null>;
}

export class ConsoleStartError extends Error {
  override readonly name = "ConsoleStartError";
}

// Starts the built console through its launcher, the way `npm start` does, on a port the system picks
// and a database in a fresh temporary KERNFLOW_HOME, so parallel runs never collide.
export async function startConsole(env: Record<string, string>): Promise<RunningConsole> {
  const buildId = join(repositoryRoot, "apps", "web", ".next", "BUILD_ID");
  if (!existsSync(buildId)) {
    throw new ConsoleStartError(
      `the console is not built (no ${buildId}): run \`npm run build -w @kernflow/web\` before the browser tests`,
    );
  }
  const home = mkdtempSync(join(tmpdir(), "kernflow-playwright-"));
  // The embedded PostgreSQL runs as the `postgres` user, which must be able to enter this folder.
  chmodSync(home, 0o711);

  const child = spawn(process.execPath, ["--import", "tsx", join("apps", "web", "scripts", "serve.ts")], {
    cwd: repositoryRoot,
    env: { ...process.env, DATABASE_URL: "", PORT: "0", HOST: "127.0.0.1", KERNFLOW_HOME: home, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const cleanUp = () => rmSync(home, { recursive: true, force: true });
  try {
    const url = await waitForReady(child, () => output, exited);
    return {
      url,
      home,
      output: () => output,
      stop: async () => {
        const code = await stopChild(child, exited);
        cleanUp();
        return code;
      },
    };
  } catch (error) {
    await stopChild(child, exited);
    cleanUp();
    throw error;
  }
}

async function waitForReady(
  child: ChildProcess,
  output: () => string,
  exited: Promise<number | null>,
): Promise<string> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  while (Date.now() < deadline) {
    const ready = /console ready at (http:\/\/\S+)/.exec(output());
    if (ready?.[1]) return ready[1];
    if (exitCode !== undefined || child.exitCode !== null) {
      throw new ConsoleStartError(
        `the console exited (code ${exitCode ?? child.exitCode}) before it was ready:\n${output()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new ConsoleStartError(`the console was not ready after ${READY_TIMEOUT_MS / 1000}s:\n${output()}`);
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill("SIGTERM");
  const timeout = new Promise<"timeout">((resolve) =>
    setTimeout(() => resolve("timeout"), STOP_TIMEOUT_MS).unref(),
  );
  const result = await Promise.race([exited, timeout]);
  if (result === "timeout") {
    child.kill("SIGKILL");
    await exited;
    return null;
  }
  return result;
}
