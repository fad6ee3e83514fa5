/** `kernflow-agent` as its own process, the way an operator runs it, with its log lines awaitable. */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const agentBin = resolve(dirname(fileURLToPath(import.meta.url)), "../../bin/kernflow-agent.js");

export interface LogLine {
  at: number;
  text: string;
}

export class AgentProcess {
  readonly lines: LogLine[] = [];
  private readonly waiters: (() => void)[] = [];
  readonly exited: Promise<number | null>;
  stdout = "";

  private constructor(readonly child: ChildProcess) {
    if (!child.stderr) throw new Error("agent process needs a stderr pipe");
    createInterface({ input: child.stderr }).on("line", (text) => {
      this.lines.push({ at: performance.now(), text });
      if (process.env.KERNFLOW_TEST_VERBOSE === "1") process.stderr.write(`[agent] ${text}\n`);
      for (const w of this.waiters.splice(0)) w();
    });
    child.stdout?.on("data", (d) => {
      this.stdout += String(d);
    });
    this.exited = new Promise((res) => child.on("exit", (code) => res(code)));
  }

  static start(args: string[], env: Record<string, string> = {}): AgentProcess {
    return new AgentProcess(
      spawn(process.execPath, [agentBin, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, ...env },
      }),
    );
  }

  /** Runs one command to its end. */
  static async once(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const p = AgentProcess.start(args);
    const code = await p.exited;
    return { code, stdout: p.stdout, stderr: p.log() };
  }

  log(): string {
    return this.lines.map((l) => l.text).join("\n");
  }

  /** The first log line from index `from` on that contains `text` (or matches it). */
  async waitFor(text: string | RegExp, timeoutMs = 20_000, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => {
      exited = true;
    });
    for (;;) {
      const found = this.lines
        .slice(from)
        .find((l) => (typeof text === "string" ? l.text.includes(text) : text.test(l.text)));
      if (found) return found;
      if (exited) throw new Error(`agent exited before logging "${text}":\n${this.log()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`agent did not log "${text}" within ${timeoutMs} ms:\n${this.log()}`);
      await new Promise<void>((res) => {
        const timer = setTimeout(res, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(timer);
          res();
        });
      });
    }
  }

  /** SIGTERM and the exit code (SIGKILL after `timeoutMs`, giving null). */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
