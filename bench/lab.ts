/**
 * Shared plumbing of the benchmarks: a private pair of network namespaces joined by a veth, processes
 * started inside them, and CPU accounting read from /proc. Only namespaces made here carry traffic.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";

export function sh(argv: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0] as string, argv.slice(1), { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${argv.join(" ")} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

export interface VethLab {
  client: string;
  server: string;
  clientIf: string;
  serverIf: string;
  clientAddr: string;
  serverAddr: string;
  spawnIn(ns: string, argv: readonly string[]): ChildProcess;
  destroy(): Promise<void>;
}

/** Two namespaces (`kfb-<pid>-<id>-cli|srv`) and one veth pair `kfb<id>c` <-> `kfb<id>s` between them. */
export async function createVethLab(): Promise<VethLab> {
  const id = randomBytes(3).toString("hex");
  const client = `kfb-${process.pid}-${id}-cli`;
  const server = `kfb-${process.pid}-${id}-srv`;
  const clientIf = `kfb${id}c`;
  const serverIf = `kfb${id}s`;
  const octet = 64 + (Number.parseInt(id.slice(0, 2), 16) % 190);
  const clientAddr = `10.${octet}.250.1`;
  const serverAddr = `10.${octet}.250.2`;
  const children = new Set<ChildProcess>();
  const made: string[] = [];
  const destroy = async () => {
    const exits = [...children].map(
      (c) =>
        new Promise<void>((r) =>
          c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r()),
        ),
    );
    for (const c of children) c.kill("SIGKILL");
    await Promise.all(exits);
    for (const ns of made) await sh(["ip", "netns", "del", ns]);
  };
  try {
    for (const ns of [client, server]) {
      await sh(["ip", "netns", "add", ns]);
      made.push(ns);
      await sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
    }
    await sh([
      "ip",
      "link",
      "add",
      clientIf,
      "netns",
      client,
      "type",
      "veth",
      "peer",
      "name",
      serverIf,
      "netns",
      server,
    ]);
    await sh(["ip", "-n", client, "addr", "add", `${clientAddr}/24`, "dev", clientIf]);
    await sh(["ip", "-n", server, "addr", "add", `${serverAddr}/24`, "dev", serverIf]);
    await sh(["ip", "-n", client, "link", "set", clientIf, "up"]);
    await sh(["ip", "-n", server, "link", "set", serverIf, "up"]);
  } catch (error) {
    await destroy();
    throw error;
  }
  return {
    client,
    server,
    clientIf,
    serverIf,
    clientAddr,
    serverAddr,
    spawnIn(ns, argv) {
      const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
      children.add(child);
      child.once("exit", () => children.delete(child));
      return child;
    },
    destroy,
  };
}

/** Resolves with the first stderr/stdout line matching `pattern`; rejects if the process exits first. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const seen: string[] = [];
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; saw: ${seen.join(" | ")}`)),
      timeoutMs,
    );
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before ${pattern}; saw: ${seen.join(" | ")}`));
    };
    child.once("exit", onExit);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on("line", (line) => {
        seen.push(line);
        if (pattern.test(line)) {
          clearTimeout(timer);
          child.off("exit", onExit);
          resolve(line);
        }
      });
    }
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** Clock ticks per second of /proc accounting (USER_HZ); 100 on every Linux architecture in use. */
const userHz = 100;

export interface SystemCpu {
  user: number;
  system: number;
  irq: number;
  softirq: number;
  idle: number;
}

/** Seconds of CPU spent by all CPUs since boot, by category (first line of /proc/stat). */
export function systemCpu(): SystemCpu {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] as string;
  const [user, nice, system, idle, iowait, irq, softirq] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number) as number[];
  return {
    user: ((user as number) + (nice as number)) / userHz,
    system: (system as number) / userHz,
    irq: (irq as number) / userHz,
    softirq: (softirq as number) / userHz,
    idle: ((idle as number) + (iowait as number)) / userHz,
  };
}

export function diffSystemCpu(a: SystemCpu, b: SystemCpu): SystemCpu {
  return {
    user: b.user - a.user,
    system: b.system - a.system,
    irq: b.irq - a.irq,
    softirq: b.softirq - a.softirq,
    idle: b.idle - a.idle,
  };
}

/** A process's /proc/<pid>/stat fields after the command name: index 1 ppid, 11–12 utime/stime, 13–14
 * cutime/cstime (its reaped children), in clock ticks. */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces and parentheses; fields after it are plain.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** User and system CPU seconds of one process so far, from /proc/<pid>/stat (fields 14 and 15). */
export function processCpu(pid: number): { user: number; system: number } {
  const fields = statFields(pid);
  return { user: Number(fields[11]) / userHz, system: Number(fields[12]) / userHz };
}

/**
 * CPU seconds used so far by the PostgreSQL server listening on `port`: its postmaster (found by the port on
 * its command line), every live child (backends, parallel workers, io workers) and the children it already
 * reaped (their times, kept in the postmaster's cutime/cstime; without them an idle pool client closed
 * meanwhile would take its CPU out of the sum). Throws when no such server runs.
 */
export function postgresServerCpu(port: string): number {
  const stats: { pid: number; ppid: number; ticks: number; reaped: number }[] = [];
  let postmaster = -1;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const fields = statFields(name);
      stats.push({
        pid: Number(name),
        ppid: Number(fields[1]),
        ticks: Number(fields[11]) + Number(fields[12]),
        reaped: Number(fields[13]) + Number(fields[14]),
      });
      if (postmaster < 0 && readFileSync(`/proc/${name}/comm`, "utf8").trim() === "postgres") {
        const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
        if (argv.indexOf("-p") > 0 && argv[argv.indexOf("-p") + 1] === port) postmaster = Number(name);
      }
    } catch {
      // The process ended while we looked.
    }
  }
  if (postmaster < 0) throw new Error(`no PostgreSQL server with "-p ${port}" on its command line`);
  const ticks = stats
    .filter((s) => s.pid === postmaster || s.ppid === postmaster)
    .reduce((a, s) => a + s.ticks + (s.pid === postmaster ? s.reaped : 0), 0);
  return ticks / userHz;
}

export interface BpfProgramStats {
  runTimeNs: number;
  runCount: number;
}

/**
 * Time the kernel spent running the BPF programs a process holds open, from /proc/<pid>/fdinfo (the
 * kernel fills run_time_ns/run_cnt while the sysctl kernel.bpf_stats_enabled is 1).
 */
export function bpfProgramStats(pid: number): BpfProgramStats {
  const total: BpfProgramStats = { runTimeNs: 0, runCount: 0 };
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fdinfo`);
  } catch (error) {
    // The process has exited: it holds no programs any more.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return total;
    throw error;
  }
  for (const fd of fds) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8");
    } catch (error) {
      // fds come and go while we read (files the agent opens and closes), which is expected.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    if (!info.includes("prog_type:")) continue;
    total.runTimeNs += Number(/run_time_ns:\s*(\d+)/.exec(info)?.[1] ?? 0);
    total.runCount += Number(/run_cnt:\s*(\d+)/.exec(info)?.[1] ?? 0);
  }
  return total;
}
