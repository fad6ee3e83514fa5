import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const agentDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = join(agentDir, "..", "..");
const bin = join(agentDir, "bin", "kernflow-agent.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd = repoRoot): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}
const agent = (...args: string[]) => run(process.execPath, [bin, ...args]);

describe("kernflow-agent bin", () => {
  it("prints the command list for --help and exits 0", async () => {
    const r = await agent("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kernflow-agent <command>/);
    for (const command of ["capture", "enroll", "run", "aggregate", "kubetags"])
      expect(r.stdout).toContain(command);
  });

  it("prints capture's flags for capture --help and exits 0", async () => {
    const r = await agent("capture", "--help");
    expect(r.code).toBe(0);
    for (const flag of [
      "--interfaces",
      "--exclude",
      "--interval",
      "--duration",
      "--format",
      "--bytecode",
      "--export",
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });

  it("exits 2 with the reason and a pointer to --help on a bad flag value", async () => {
    const r = await agent("capture", "--interfaces", "eth*", "--interval", "10");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"10" is not a duration');
    expect(r.stderr).toContain("kernflow-agent capture --help");
    expect(r.stdout).toBe("");
  });

  it("exits 2 on an unknown flag and on a missing --interfaces", async () => {
    const unknown = await agent("capture", "--interfaces", "lo", "--promiscuous");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--promiscuous'");
    const missing = await agent("capture");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--interfaces is required");
  });

  it("exits 2 on an unknown command and on commands of later issues", async () => {
    const unknown = await agent("sniff");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "sniff"');
    const later = ["enroll", "run", "aggregate", "kubetags"];
    const results = await Promise.all(later.map((command) => agent(command)));
    results.forEach((r, i) => {
      expect(r.code, later[i]).toBe(2);
      expect(r.stderr).toContain("not implemented yet");
    });
  });

  it("exits 2 for --export, saying export is not implemented yet", async () => {
    const r = await agent("capture", "--interfaces", "lo", "--export", "ipfix+tcp://127.0.0.1:4739");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("export not implemented yet");
  });

  it.skipIf(!existsSync("/usr/bin/setpriv") || process.getuid?.() !== 0)(
    "exits 3 naming the missing capabilities when run as nobody",
    async () => {
      const r = await run("setpriv", [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        process.execPath,
        bin,
        "capture",
        "--interfaces",
        "lo",
        "--duration",
        "1s",
      ]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain("missing privilege: CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON");
    },
  );

  it("is reachable as `npm exec kernflow-agent` from the repository root (the workspace bin)", async () => {
    const r = await run("npm", ["exec", "--no", "--", "kernflow-agent", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: kernflow-agent <command>");
  });
});
