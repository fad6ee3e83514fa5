/**
 * Network-namespace lab for the agent's kernel tests: namespaces with unique names, veth pairs (or an
 * impaired TUN link with delay and loss) between them, traffic endpoints with known process names, and
 * interface counters. Everything lives in namespaces this process creates, so tests never touch the
 * host's real networks, and cleanup runs even if a test throws or the process exits early.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  type Dirent,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  type ClientOptions,
  type ClientResult,
  collectStderr,
  python,
  runClient,
  type ServerOptions,
  startServer,
  type TrafficServer,
} from "./netns-endpoints";

export type {
  ClientOptions,
  ClientResult,
  ServerEvent,
  ServerOptions,
  TrafficServer,
} from "./netns-endpoints";

const supportDir = dirname(fileURLToPath(import.meta.url));
const impairScript = join(supportDir, "netns-impair.py");
/** Namespaces of this harness are named `kft-<owner pid>-…`, so stale ones of dead runs can be found. */
const namespacePrefix = "kft-";

export class NetnsCommandError extends Error {
  override readonly name = "NetnsCommandError";
  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(`${argv.join(" ")} failed (exit ${exitCode}): ${stderr.trim()}`);
  }
}

export function run(argv: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      argv[0] as string,
      argv.slice(1),
      { maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new NetnsCommandError(argv, stderr || error.message, child.exitCode));
        else resolve(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export interface InterfaceCounters {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
}

export interface RunOptions {
  /** cgroup v2 directory (from NetnsLab.cgroup) the command runs in. */
  cgroup?: string;
  input?: string;
}

export class Netns {
  constructor(
    readonly name: string,
    private readonly lab: NetnsLab,
  ) {}

  /**
   * The full command line. A cgroup is joined before `ip netns exec`, because that remounts /sys for the
   * namespace and the cgroup hierarchy under /sys/fs/cgroup is not visible inside.
   */
  private command(argv: readonly string[], options: RunOptions): string[] {
    const inNs = ["ip", "netns", "exec", this.name, ...argv];
    if (options.cgroup === undefined) return inNs;
    return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', options.cgroup, ...inNs];
  }

  /** Runs a command inside the namespace and returns its stdout. */
  exec(argv: readonly string[], options: RunOptions = {}): Promise<string> {
    return run(this.command(argv, options), options.input);
  }

  /** Starts a long-running command inside the namespace; the lab kills it on cleanup. */
  spawn(argv: readonly string[], options: RunOptions = {}): ChildProcess {
    const [command, ...args] = this.command(argv, options);
    return this.lab.track(spawn(command as string, args, { stdio: ["ignore", "pipe", "pipe"] }));
  }

  /** Kernel counters of an interface, read from sysfs as mounted inside the namespace. */
  async counters(ifname: string): Promise<InterfaceCounters> {
    const dir = `/sys/class/net/${ifname}/statistics`;
    const out = await this.exec([
      "cat",
      `${dir}/rx_bytes`,
      `${dir}/tx_bytes`,
      `${dir}/rx_packets`,
      `${dir}/tx_packets`,
    ]);
    const [rxBytes, txBytes, rxPackets, txPackets] = out.trim().split("\n").map(Number) as [
      number,
      number,
      number,
      number,
    ];
    return { rxBytes, txBytes, rxPackets, txPackets };
  }
}

export interface LinkEnd {
  /** null for an end left in the root namespace. */
  ns: Netns | null;
  ifname: string;
  ipv4: string;
  ipv6: string;
}

export interface Link {
  a: LinkEnd;
  b: LinkEnd;
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class NetnsLab {
  /** Short random id; part of every namespace and interface name so parallel runs never collide. */
  readonly id = randomHex(3);
  private readonly namespaces: Netns[] = [];
  /** veth ends left in the root namespace: deleting a namespace frees its peers only asynchronously. */
  private readonly rootLinks: string[] = [];
  /** cgroup directories made by this lab, deepest last. */
  private readonly cgroups: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly tempDir = mkdtempSync(join(tmpdir(), "kf-netns-"));
  /** Scratch directory removed with the lab, for files a test needs (bytecode, configs). */
  get tempDirectory(): string {
    return this.tempDir;
  }
  private links = 0;
  private cleaned = false;
  private readonly exitHook = () => this.cleanupSync();

  private constructor() {
    process.once("exit", this.exitHook);
  }

  /** Creates a lab after deleting namespaces that dead runs of this harness left behind. */
  static async create(): Promise<NetnsLab> {
    await NetnsLab.removeStale();
    return new NetnsLab();
  }

  /** Deletes namespaces and cgroups (`kft-<pid>-…`) whose owning test process no longer runs. */
  static async removeStale(): Promise<string[]> {
    const isStale = (name: string) => {
      const owner = /^kft-(\d+)-/.exec(name);
      return owner !== null && !isAlive(Number(owner[1]));
    };
    const listing = await run(["ip", "netns", "list"]);
    const stale = listing
      .split("\n")
      .map((line) => line.split(" ")[0] ?? "")
      .filter(isStale);
    for (const name of stale) {
      try {
        await run(["ip", "netns", "del", name]);
      } catch (error) {
        // Another lab starting in parallel may have removed it first, which is just as good.
        if (!(await run(["ip", "netns", "list"])).split("\n").some((l) => l.split(" ")[0] === name)) continue;
        throw error;
      }
    }
    const root = cgroupV2Root();
    if (root !== null) {
      for (const entry of readdirSync(root, { withFileTypes: true })) {
        if (!entry.isDirectory() || !isStale(entry.name)) continue;
        await removeCgroupTree(join(root, entry.name));
        stale.push(entry.name);
      }
    }
    return stale;
  }

  /**
   * A cgroup v2 directory of this lab, e.g. `docker-<64 hex>.scope` to look like a container to the
   * agent. Processes started with `cgroup: path` join it before they exec.
   */
  async cgroup(name: string): Promise<string> {
    const root = cgroupV2Root();
    if (root === null) throw new Error("no cgroup v2 hierarchy at /sys/fs/cgroup/unified or /sys/fs/cgroup");
    const labDir = join(root, `${namespacePrefix}${process.pid}-${this.id}`);
    if (!this.cgroups.includes(labDir)) {
      mkdirSync(labDir);
      this.cgroups.push(labDir);
    }
    const dir = join(labDir, name);
    mkdirSync(dir);
    this.cgroups.push(dir);
    return dir;
  }

  /** Interface names are limited to 15 characters: `kf` + lab id + link number + end. */
  private nextIfnames(): [string, string] {
    this.links += 1;
    return [`kf${this.id}${this.links}a`, `kf${this.id}${this.links}b`];
  }

  track(child: ChildProcess): ChildProcess {
    this.children.add(child);
    child.once("exit", () => this.children.delete(child));
    return child;
  }

  async namespace(label: string): Promise<Netns> {
    const name = `${namespacePrefix}${process.pid}-${this.id}-${label}`;
    await run(["ip", "netns", "add", name]);
    const ns = new Netns(name, this);
    this.namespaces.push(ns);
    await run(["ip", "-n", name, "link", "set", "lo", "up"]);
    return ns;
  }

  /** A /24 and a /64 no other lab on this host uses (random, checked against the root routing table). */
  private async freeSubnets(): Promise<{ v4: string; v6: string }> {
    for (;;) {
      const x = 64 + Math.floor(Math.random() * 190);
      const y = Math.floor(Math.random() * 256);
      const routes = await run(["ip", "-4", "route", "show", "match", `10.${x}.${y}.0/24`]);
      if (!routes.includes(`10.${x}.${y}.`))
        return { v4: `10.${x}.${y}`, v6: `fd6b:6600:${x.toString(16)}${y.toString(16).padStart(2, "0")}` };
    }
  }

  private async configureEnd(end: LinkEnd, prefixV4: number): Promise<void> {
    const ip = end.ns === null ? ["ip"] : ["ip", "-n", end.ns.name];
    await run([...ip, "addr", "add", `${end.ipv4}/${prefixV4}`, "dev", end.ifname]);
    await run([...ip, "-6", "addr", "add", `${end.ipv6}/64`, "dev", end.ifname, "nodad"]);
    await run([...ip, "link", "set", end.ifname, "up"]);
  }

  /**
   * A veth pair between two namespaces, or between a namespace and the root namespace (`"root"`), with
   * IPv4 and IPv6 addresses on both ends.
   */
  async veth(a: Netns, b: Netns | "root", names: [string, string] = this.nextIfnames()): Promise<Link> {
    const { v4, v6 } = await this.freeSubnets();
    const [nameA, nameB] = names;
    await run([
      "ip",
      "link",
      "add",
      nameA,
      "netns",
      a.name,
      "type",
      "veth",
      "peer",
      "name",
      nameB,
      ...(b === "root" ? [] : ["netns", b.name]),
    ]);
    if (b === "root") this.rootLinks.push(nameB);
    const link: Link = {
      a: { ns: a, ifname: nameA, ipv4: `${v4}.1`, ipv6: `${v6}::1` },
      b: { ns: b === "root" ? null : b, ifname: nameB, ipv4: `${v4}.2`, ipv6: `${v6}::2` },
    };
    await this.configureEnd(link.a, 24);
    await this.configureEnd(link.b, 24);
    return link;
  }

  /**
   * A link with a one-way `delayMs` (so RTT grows by twice that) and `lossPercent` random loss in each
   * direction. This kernel lacks netem, so the link is two TUN devices joined by a user-space forwarder.
   */
  async impairedLink(
    a: Netns,
    b: Netns,
    impairment: { delayMs: number; lossPercent: number },
  ): Promise<Link> {
    const { v4, v6 } = await this.freeSubnets();
    const [nameA, nameB] = this.nextIfnames();
    const forwarder = this.track(
      spawn(
        python,
        [impairScript, nameA, nameB, String(impairment.delayMs), String(impairment.lossPercent)],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      ),
    );
    const stderr = collectStderr(forwarder);
    await new Promise<void>((resolve, reject) => {
      forwarder.once("exit", (code) => reject(new Error(`impairment forwarder exited ${code}: ${stderr()}`)));
      createInterface({ input: forwarder.stdout as NonNullable<typeof forwarder.stdout> }).once("line", () =>
        resolve(),
      );
    });
    await run(["ip", "link", "set", nameA, "netns", a.name]);
    await run(["ip", "link", "set", nameB, "netns", b.name]);
    const link: Link = {
      a: { ns: a, ifname: nameA, ipv4: `${v4}.1`, ipv6: `${v6}::1` },
      b: { ns: b, ifname: nameB, ipv4: `${v4}.2`, ipv6: `${v6}::2` },
    };
    await this.configureEnd(link.a, 24);
    await this.configureEnd(link.b, 24);
    return link;
  }

  /** A TCP or UDP server in `ns` bound to `bind` (port 0 = any free port) that may reply with `replyBytes`. */
  startServer(ns: Netns, options: ServerOptions): Promise<TrafficServer> {
    return startServer(ns, this.tempDir, options);
  }

  /** Sends exactly `bytes` of payload from `ns` and waits for the reply to end (see runClient). */
  runClient(ns: Netns, options: ClientOptions): Promise<ClientResult> {
    return runClient(ns, this.tempDir, options);
  }

  /** Kills every process the lab started and deletes its namespaces (and so their interfaces). */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    process.off("exit", this.exitHook);
    const exits = [...this.children].map(
      (child) =>
        new Promise<void>((resolve) =>
          child.exitCode !== null || child.signalCode !== null
            ? resolve()
            : child.once("exit", () => resolve()),
        ),
    );
    for (const child of this.children) child.kill("SIGKILL");
    await Promise.all(exits);
    const failures: string[] = [];
    for (const ifname of this.rootLinks) {
      try {
        await run(["ip", "link", "del", ifname]);
      } catch (error) {
        if (!(error as NetnsCommandError).stderr.includes("Cannot find device"))
          failures.push((error as Error).message);
      }
    }
    for (const ns of this.namespaces) {
      try {
        await run(["ip", "netns", "del", ns.name]);
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    for (const dir of [...this.cgroups].reverse()) {
      try {
        await removeCgroupTree(dir);
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    rmSync(this.tempDir, { recursive: true, force: true });
    if (failures.length > 0) throw new Error(`netns cleanup failed: ${failures.join("; ")}`);
  }

  /** Last-resort cleanup from the process `exit` event, where only synchronous calls still run. */
  private cleanupSync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const child of this.children) child.kill("SIGKILL");
    for (const ifname of this.rootLinks) {
      try {
        execFileSync("ip", ["link", "del", ifname], { stdio: "ignore" });
      } catch {
        // Already gone with its namespace.
      }
    }
    for (const ns of this.namespaces) {
      try {
        execFileSync("ip", ["netns", "del", ns.name], { stdio: "ignore" });
      } catch {
        // Exiting anyway; the next lab's removeStale() deletes what is left.
      }
    }
    for (const dir of [...this.cgroups].reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        // Still holding a dying process; the next lab's removeStale() deletes it.
      }
    }
    rmSync(this.tempDir, { recursive: true, force: true });
  }
}

/** The cgroup v2 hierarchy: beside v1 at /sys/fs/cgroup/unified on hybrid hosts, else /sys/fs/cgroup. */
export function cgroupV2Root(): string | null {
  if (existsSync("/sys/fs/cgroup/unified/cgroup.procs")) return "/sys/fs/cgroup/unified";
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return "/sys/fs/cgroup";
  return null;
}

/** Kills what still runs in a cgroup tree (a client a failed test left behind), then removes it. */
async function removeCgroupTree(dir: string): Promise<void> {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  for (const entry of entries) {
    if (entry.isDirectory()) await removeCgroupTree(join(dir, entry.name));
  }
  for (let attempt = 0; ; attempt++) {
    let procs: string;
    try {
      procs = readFileSync(join(dir, "cgroup.procs"), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    const pids = procs.split("\n").filter(Boolean).map(Number);
    if (pids.length === 0) break;
    if (attempt === 50) throw new Error(`cgroup ${dir} still holds ${pids.join(", ")}`);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  try {
    rmdirSync(dir);
  } catch (error) {
    // Removed meanwhile by a parallel lab's removeStale(): the goal is reached either way.
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** True when this process may create namespaces (root with CAP_SYS_ADMIN and iproute2 present). */
export function canCreateNamespaces(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
