/** `kernflow-agent capture --format ndjson …` as its own process, the way an operator runs it (in a lab's
 * namespace or in this one), with what it printed parsed once it stopped. */
import { type ChildProcess, spawn } from "node:child_process";
import { type FlowRecord, flowRecordSchema } from "@kernflow/protocol";
import { agentBin } from "./agent-process";
import type { Netns } from "./netns";

export interface CaptureProcess {
  child: ChildProcess;
  /** Its log so far. */
  stderr(): string;
  /** SIGINT; fails unless it exits 0, else the records it printed, each parsed with the protocol's schema. */
  stop(): Promise<FlowRecord[]>;
}

/** Starts the capture with `args` (after `capture --format ndjson`) and waits until it attached. */
export async function startCaptureProcess(
  args: string[],
  options: { ns?: Netns; timeoutMs?: number } = {},
): Promise<CaptureProcess> {
  const argv = [process.execPath, agentBin, "capture", "--format", "ndjson", ...args];
  const child = options.ns
    ? options.ns.spawn(argv)
    : spawn(process.execPath, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += String(d);
  });
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  for (const deadline = Date.now() + (options.timeoutMs ?? 60_000); !/attached to /.test(stderr); ) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`the capture did not attach (exit ${child.exitCode}): ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    stderr: () => stderr,
    stop: async () => {
      child.kill("SIGINT");
      const code = await exit;
      if (code !== 0) throw new Error(`the capture exited ${code}: ${stderr}`);
      return stdout
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => flowRecordSchema.parse(JSON.parse(line)));
    },
  };
}
