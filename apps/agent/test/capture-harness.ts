/** Shared set-up of the capture integration tests: a real kernel, network namespaces and veth pairs made
 * here, traffic from processes with known names, and the kernel's own interface counters to compare. */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { FlowRecord } from "@kernflow/protocol";
import { defaultBytecodePath } from "../src/bpf/loader";
import { type CaptureOptions, type CaptureSummary, runCapture } from "../src/roles/capture";

const here = dirname(fileURLToPath(import.meta.url));
export const trafficScript = join(here, "capture-traffic.py");
export const repoRoot = resolve(here, "../../..");

/** Why the kernel tests cannot run here, or null when they can. With CI=true a reason is an error:
 * CI must not pass by skipping them. */
export function kernelTestsUnavailable(): string | null {
  let reason: string | null = null;
  if (process.getuid?.() !== 0) reason = "not root (eBPF capture tests need root)";
  else if (!existsSync("/sys/kernel/btf/vmlinux")) reason = "kernel has no BTF (/sys/kernel/btf/vmlinux)";
  else if (!existsSync(defaultBytecodePath())) {
    try {
      execFileSync("make", ["-s", "-C", join(repoRoot, "bpf")], { stdio: "pipe" });
    } catch (error) {
      reason = `cannot build bpf/build/kernflow.bpf.o: ${String(error)}`;
    }
  }
  if (reason === null) return null;
  if (process.env.CI === "true") throw new Error(`capture kernel tests cannot run in CI: ${reason}`);
  console.warn(`\n!!! SKIPPING capture kernel tests: ${reason} !!!\n`);
  return reason;
}

export function run(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export function uniqueId(): string {
  return randomBytes(3).toString("hex");
}

export interface Counters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

export function counters(ifname: string, netns?: string): Counters {
  const read = (stat: string) => {
    const path = `/sys/class/net/${ifname}/statistics/${stat}`;
    const text = netns ? run("ip", "netns", "exec", netns, "cat", path) : readFileSync(path, "utf8");
    return Number(text.trim());
  };
  return {
    rxPackets: read("rx_packets"),
    rxBytes: read("rx_bytes"),
    txPackets: read("tx_packets"),
    txBytes: read("tx_bytes"),
  };
}

export interface VethOptions {
  /** Caps TCP's GSO skbs at this many segments (1: every skb is one wire packet). */
  gsoMaxSegs?: number;
  /** Also IPv6 addresses (outerAddr6/innerAddr6) with static neighbours; the link then carries the
   * kernel's own ICMPv6 (MLD) too. */
  ipv6?: boolean;
}

/** The names and IPv4 /24 of a link between this namespace (`outer`, where the agent captures) and a fresh
 * one (`inner`): unique per link, so links of tests running at once do not collide. */
abstract class LabLink {
  readonly id = uniqueId();
  readonly netns: string;
  readonly outer: string;
  readonly inner: string;
  readonly subnet =
    `10.${200 + (Number.parseInt(this.id.slice(0, 2), 16) % 50)}.${Number.parseInt(this.id.slice(2, 4), 16)}`;
  readonly outerAddr = `${this.subnet}.1`;
  readonly innerAddr = `${this.subnet}.2`;

  constructor(prefixes: { netns: string; outer: string; inner: string }) {
    this.netns = `${prefixes.netns}${this.id}`;
    this.outer = `${prefixes.outer}${this.id}`;
    this.inner = `${prefixes.inner}${this.id}`;
  }

  inNs(cmd: string, ...args: string[]): string {
    return run("ip", "netns", "exec", this.netns, cmd, ...args);
  }
}

/** A veth pair: `outer` in this namespace (where the agent captures), `inner` in a fresh namespace.
 * IPv6 is off and neighbours are static, so the only packets on the link are the test's own. */
export class VethLink extends LabLink {
  // Canonical text (no leading zeros in a group), as records print addresses.
  readonly subnet6 = `fd6b:6601:${Number.parseInt(this.id.slice(0, 4), 16).toString(16)}`;
  readonly outerAddr6 = `${this.subnet6}::1`;
  readonly innerAddr6 = `${this.subnet6}::2`;

  constructor() {
    super({ netns: "kfcap-", outer: "kfo", inner: "kfi" });
  }

  create(options: VethOptions = {}): this {
    run("ip", "netns", "add", this.netns);
    run("ip", "link", "add", this.outer, "type", "veth", "peer", "name", this.inner, "netns", this.netns);
    const v6 = options.ipv6 ? "0" : "1";
    this.inNs("sysctl", "-qw", `net.ipv6.conf.${this.inner}.disable_ipv6=${v6}`);
    run("sysctl", "-qw", `net.ipv6.conf.${this.outer}.disable_ipv6=${v6}`);
    if (options.gsoMaxSegs !== undefined) {
      run("ip", "link", "set", this.outer, "gso_max_segs", String(options.gsoMaxSegs));
      this.inNs("ip", "link", "set", this.inner, "gso_max_segs", String(options.gsoMaxSegs));
    }
    run("ip", "addr", "add", `${this.outerAddr}/24`, "dev", this.outer);
    this.inNs("ip", "addr", "add", `${this.innerAddr}/24`, "dev", this.inner);
    const outerMac = readFileSync(`/sys/class/net/${this.outer}/address`, "utf8").trim();
    const innerMac = this.inNs("cat", `/sys/class/net/${this.inner}/address`).trim();
    run("ip", "neigh", "replace", this.innerAddr, "lladdr", innerMac, "dev", this.outer, "nud", "permanent");
    this.inNs(
      "ip",
      "neigh",
      "replace",
      this.outerAddr,
      "lladdr",
      outerMac,
      "dev",
      this.inner,
      "nud",
      "permanent",
    );
    this.inNs("ip", "link", "set", "lo", "up");
    this.inNs("ip", "link", "set", this.inner, "up");
    run("ip", "link", "set", this.outer, "up");
    if (options.ipv6) {
      // IPv6 addresses stay tentative on a down link, so they come after "up".
      run("ip", "-6", "addr", "add", `${this.outerAddr6}/64`, "dev", this.outer, "nodad");
      this.inNs("ip", "-6", "addr", "add", `${this.innerAddr6}/64`, "dev", this.inner, "nodad");
      const neigh = ["-6", "neigh", "replace"];
      run("ip", ...neigh, this.innerAddr6, "lladdr", innerMac, "dev", this.outer, "nud", "permanent");
      this.inNs("ip", ...neigh, this.outerAddr6, "lladdr", outerMac, "dev", this.inner, "nud", "permanent");
    }
    return this;
  }

  ifindex(): number {
    return Number(readFileSync(`/sys/class/net/${this.outer}/ifindex`, "utf8").trim());
  }

  private destroyed = false;

  /** Removes the pair and its namespace; again is a no-op, so a test may remove a link it also gave a
   * lab to clean up. */
  destroy(): void {
    if (this.destroyed) return;
    try {
      run("ip", "link", "del", this.outer);
    } catch {
      // Already gone with its namespace (or never made): nothing to remove.
    }
    run("ip", "netns", "del", this.netns);
    this.destroyed = true;
  }
}

/** Python under a chosen name: the kernel's comm of a process is the basename it was executed as. */
export class NamedPrograms {
  private readonly dir = mkdtempSync(join(tmpdir(), "kf-capture-"));
  private readonly python = run(
    "python3",
    "-c",
    "import os,sys; print(os.path.realpath(sys.executable))",
  ).trim();

  path(name: string): string {
    const link = join(this.dir, name);
    if (!existsSync(link)) symlinkSync(this.python, link);
    return link;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface TrafficEvent {
  pid: number;
  event: string;
  port?: number;
  local_port?: number;
  [k: string]: unknown;
}

/** A traffic process whose JSON events can be awaited. */
export class TrafficProcess {
  private readonly events: TrafficEvent[] = [];
  private readonly waiters: (() => void)[] = [];
  private stderr = "";
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    if (!child.stdout) throw new Error("traffic process needs a stdout pipe");
    createInterface({ input: child.stdout }).on("line", (line) => {
      this.events.push(JSON.parse(line) as TrafficEvent);
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr?.on("data", (d) => {
      this.stderr += String(d);
    });
    this.exited = new Promise((res) => child.on("exit", (code) => res(code)));
  }

  static start(argv: string[]): TrafficProcess {
    const [cmd, ...args] = argv;
    if (cmd === undefined) throw new Error("empty command");
    return new TrafficProcess(spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] }));
  }

  async next(event: string, timeoutMs = 15_000): Promise<TrafficEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((e) => e.event === event);
      const found = i >= 0 ? this.events.splice(i, 1)[0] : undefined;
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no "${event}" event within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await new Promise<void>((res) => {
        this.waiters.push(res);
        setTimeout(res, 200);
      });
    }
  }

  stop(): void {
    this.child.kill("SIGKILL");
  }
}

/** runCapture in this process, collecting every record, started once it attached to `ifname`. */
export class RunningCapture {
  readonly records: FlowRecord[] = [];
  readonly logs: string[] = [];
  private readonly controller = new AbortController();
  private done!: Promise<CaptureSummary>;

  /** Starts a capture of `include` without waiting for anything. */
  static begin(include: string[], options: Partial<CaptureOptions> = {}): RunningCapture {
    const capture = new RunningCapture();
    capture.done = runCapture(
      {
        include,
        exclude: [],
        intervalMs: 500,
        deviceName: "capture-test",
        interfacePollMs: 200,
        log: (msg) => {
          capture.logs.push(msg);
          for (const w of capture.logWaiters.splice(0)) w();
        },
        ...options,
      },
      (records) => {
        capture.records.push(...records);
      },
      capture.controller.signal,
    );
    capture.done.catch(() => {
      for (const w of capture.logWaiters.splice(0)) w();
    });
    return capture;
  }

  /** A capture of `ifname`, once it attached there. */
  static async start(ifname: string, options: Partial<CaptureOptions> = {}): Promise<RunningCapture> {
    const capture = RunningCapture.begin([ifname], options);
    await capture.waitForLog(`attached to ${ifname} `);
    return capture;
  }

  private readonly logWaiters: (() => void)[] = [];
  private failed = false;

  /** Waits until a log line starts with `prefix`; fails if the capture ended first. */
  async waitForLog(prefix: string, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    this.done.catch(() => {
      this.failed = true;
    });
    for (;;) {
      const line = this.logs.find((l) => l.startsWith(prefix));
      if (line !== undefined) return line;
      if (this.failed) await this.done;
      if (Date.now() > deadline)
        throw new Error(`no log "${prefix}" within ${timeoutMs} ms: ${this.logs.join(" | ")}`);
      await new Promise<void>((res) => {
        this.logWaiters.push(res);
        setTimeout(res, 200);
      });
    }
  }

  async stop(): Promise<CaptureSummary> {
    this.controller.abort();
    return this.done;
  }
}

export interface Totals {
  packets: number;
  bytes: number;
}

export function totals(records: readonly FlowRecord[], filter: (r: FlowRecord) => boolean): Totals {
  let packets = 0;
  let bytes = 0;
  for (const r of records.filter(filter)) {
    packets += r.packets;
    bytes += r.bytes;
  }
  return { packets, bytes };
}

/** The other half of the agent's test lab: a TUN pair joined by a user-space forwarder that delays and
 * drops packets (this kernel has no netem). `outer` stays here for the agent; `inner` moves into a fresh
 * namespace. TUN devices are L3 (no link header) and NOARP, so again only the test's packets flow. */
export class ImpairedLink extends LabLink {
  private forwarder: ChildProcess | undefined;

  constructor() {
    super({ netns: "kfimp-", outer: "kfto", inner: "kfti" });
  }

  async create(impairment: { delayMs: number; lossPercent: number }): Promise<this> {
    const script = join(here, "support", "netns-impair.py");
    const forwarder = spawn(
      "python3",
      [script, this.outer, this.inner, String(impairment.delayMs), String(impairment.lossPercent)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.forwarder = forwarder;
    const stdout = forwarder.stdout;
    if (!stdout) throw new Error("forwarder needs a stdout pipe");
    await new Promise<void>((res, rej) => {
      forwarder.once("exit", (code) => rej(new Error(`impairment forwarder exited ${code}`)));
      createInterface({ input: stdout }).once("line", () => res());
    });
    run("ip", "netns", "add", this.netns);
    run("ip", "link", "set", this.inner, "netns", this.netns);
    run("sysctl", "-qw", `net.ipv6.conf.${this.outer}.disable_ipv6=1`);
    this.inNs("sysctl", "-qw", `net.ipv6.conf.${this.inner}.disable_ipv6=1`);
    run("ip", "addr", "add", `${this.outerAddr}/24`, "dev", this.outer);
    this.inNs("ip", "addr", "add", `${this.innerAddr}/24`, "dev", this.inner);
    this.inNs("ip", "link", "set", "lo", "up");
    this.inNs("ip", "link", "set", this.inner, "up");
    run("ip", "link", "set", this.outer, "up");
    return this;
  }

  destroy(): void {
    // The TUN devices vanish with the forwarder that holds them.
    this.forwarder?.kill("SIGKILL");
    try {
      run("ip", "netns", "del", this.netns);
    } catch {
      // Never created: nothing to remove.
    }
  }
}
