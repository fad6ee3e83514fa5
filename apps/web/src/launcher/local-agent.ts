// The quick start's "console with a local agent": with KERNFLOW_LOCAL_AGENT=1 the launcher enrolls an agent
// on this host against itself (once; the credential is kept under $KERNFLOW_HOME/local-agent) and runs it
// in connected mode as a child process, stopped with the console. Enrollment goes through the real agent
// protocol over HTTP, exactly as on any other host; only the token is made here instead of in the page.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createLocalEnrollmentToken } from "@kernflow/api";
import type { PrismaClient } from "@kernflow/db";

const agentBin = fileURLToPath(new URL("../../../agent/bin/kernflow-agent.js", import.meta.url));
const STOP_TIMEOUT_MS = 15_000;

export interface LocalAgentOptions {
  prisma: PrismaClient;
  consoleUrl: string;
  home: string;
  say: (message: string) => void;
}

export interface LocalAgent {
  stop(): Promise<void>;
}

export class LocalAgentError extends Error {
  override readonly name = "LocalAgentError";
}

/** Enrolls this host if it is not yet, then runs the agent; resolves once `run` has been started. */
export async function startLocalAgent(options: LocalAgentOptions): Promise<LocalAgent> {
  const { say } = options;
  if (process.getuid?.() !== 0) {
    say("local agent not started: eBPF needs root; run the console with sudo to watch this host's flows");
    return { stop: async () => {} };
  }
  const stateDir = path.join(options.home, "local-agent");
  if (!existsSync(path.join(stateDir, "state.json"))) {
    const secret = await createLocalEnrollmentToken(options.prisma, options.consoleUrl);
    const code = await waitForExit(
      launch(["enroll", "--server", options.consoleUrl, "--token", secret, "--state-dir", stateDir], say),
    );
    if (code !== 0) throw new LocalAgentError(`local agent enrollment failed (exit code ${code}); see above`);
  }
  const child = launch(["run", "--server", options.consoleUrl, "--state-dir", stateDir], say);
  let stopping = false;
  child.once("exit", (code, signal) => {
    if (!stopping)
      say(`local agent exited (${signal ?? `exit code ${code}`}); the console goes on without it`);
  });
  say(`local agent running (state in ${stateDir})`);
  return {
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = waitForExit(child);
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

function launch(args: string[], say: (message: string) => void): ChildProcess {
  const child = spawn(process.execPath, [agentBin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", (line) => say(`agent: ${line}`));
  }
  return child;
}

function waitForExit(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code ?? 1));
  });
}
