import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const webDir = fileURLToPath(new URL("..", import.meta.url));

export interface LauncherProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** Resolves with the console URL once the launcher says it is ready; rejects if it exits first. */
  ready(timeoutMs?: number): Promise<string>;
}

// The launcher as `npm start` runs it, but with node --import tsx directly so that signals reach it
// without the tsx CLI in between.
export function startLauncher(env: Record<string, string>): LauncherProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/serve.ts"], {
    cwd: webDir,
    env: { ...process.env, DATABASE_URL: "", KERNFLOW_ADMIN_EMAIL: "", KERNFLOW_ADMIN_PASSWORD: "", ...env },
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
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });

  return {
    child,
    output: () => output,
    exited,
    ready: async (timeoutMs = 90_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const match = /console ready at (http:\/\/\S+)/.exec(output);
        if (match?.[1]) return match[1];
        if (exitCode !== undefined)
          throw new Error(`launcher exited with ${exitCode} before ready:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`launcher not ready after ${timeoutMs} ms:\n${output}`);
    },
  };
}
