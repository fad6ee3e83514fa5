import { type FlowRecord, matchesInterface } from "@kernflow/protocol";
import { possibleCpus } from "../bpf/map";
import type { AttachMode } from "../bpf/tc";
import { localAddresses } from "./addresses";
import { KtimeClock } from "./clock";
import { BpfCallError } from "./errors";
import { diffInterfaces, listInterfaces, type NetInterface } from "./interfaces";
import { type BytecodeSource, LoadedBytecode } from "./loaded-bytecode";
import { readOverflow } from "./overflow";
import { OwnerEndpoints } from "./owners";
import { buildRecords } from "./records";

export interface CaptureRules {
  include: string[];
  exclude: string[];
}

export interface EngineOptions {
  deviceName: string;
  mapEntries?: number;
  attachMode?: "auto" | AttachMode;
  log: (msg: string) => void;
  /** Called when an interface that matches the rules cannot be captured on (the kernel refused it). */
  onAttachError?: (ifname: string, error: Error) => void;
}

export interface OverflowTotals {
  refused: number;
  packets: number;
  bytes: number;
}

/**
 * A running capture that can be reconfigured while it runs: interface rules (attach/detach live), the
 * device name put in records, and the bytecode itself (swapped without a restart; a bytecode the kernel
 * refuses leaves the running one in place). Every kernel-touching step is serialised, so a drain never
 * sees a half-swapped bytecode.
 */
export class CaptureEngine {
  private readonly known = new Map<number, NetInterface>();
  /** ifindex -> name of interfaces captured on, kept one drain past their detach so their last counts are named. */
  private readonly names = new Map<number, string>();
  private vanished: number[] = [];
  /** Records of a bytecode swapped out, drained at the swap and handed over by the next drain. */
  private carried: FlowRecord[] = [];
  private readonly clock = new KtimeClock();
  private readonly owners = new OwnerEndpoints();
  private readonly cpus = possibleCpus();
  private queue: Promise<unknown> = Promise.resolve();
  /** Overflow counted by bytecodes already unloaded (each object's counter starts at zero). */
  private overflowBase: OverflowTotals = { refused: 0, packets: 0, bytes: 0 };
  private lastOverflow: OverflowTotals = { refused: 0, packets: 0, bytes: 0 };
  private closed = false;
  /** Every interface captured on at some point, for the summary. */
  readonly everAttached: string[] = [];

  private constructor(
    private current: LoadedBytecode,
    private rules: CaptureRules,
    private readonly opts: EngineOptions,
  ) {}

  static async start(
    rules: CaptureRules,
    bytecode: BytecodeSource,
    opts: EngineOptions,
  ): Promise<CaptureEngine> {
    const loaded = await LoadedBytecode.load(bytecode, opts);
    const engine = new CaptureEngine(loaded, rules, opts);
    try {
      await engine.syncInterfaces();
    } catch (error) {
      engine.current.close();
      throw error;
    }
    return engine;
  }

  get attachMode(): AttachMode {
    return this.current.mode;
  }

  get bytecodeSha256(): string {
    return this.current.sha256;
  }

  get tracing(): string[] {
    return [...this.current.kf.tracing];
  }

  get interfacesSeen(): string[] {
    return [...this.known.values()].map((i) => i.name).sort();
  }

  get interfacesAttached(): string[] {
    return [...this.known.values()]
      .filter((i) => this.current.attachments.has(i.ifindex))
      .map((i) => i.name)
      .sort();
  }

  get overflow(): OverflowTotals {
    return this.lastOverflow;
  }

  get currentRules(): CaptureRules {
    return this.rules;
  }

  set deviceName(name: string) {
    this.opts.deviceName = name;
  }

  /** Runs kernel steps one at a time: drains, interface polls, rule changes and swaps interleave otherwise. */
  private exclusive<T>(step: () => Promise<T>): Promise<T> {
    const next = this.queue.then(step, step);
    this.queue = next.catch(() => {});
    return next;
  }

  private attach(iface: NetInterface): void {
    try {
      if (!this.current.attachments.attach(iface)) return;
    } catch (error) {
      // One interface the kernel refuses (an odd device type) must not stop capture on the others;
      // missing privileges or kernel features still end the capture.
      if (!(error instanceof BpfCallError)) throw error;
      this.opts.log(`cannot capture on ${iface.name}: ${error.message}`);
      this.opts.onAttachError?.(iface.name, error);
      return;
    }
    this.names.set(iface.ifindex, iface.name);
    if (!this.everAttached.includes(iface.name)) this.everAttached.push(iface.name);
  }

  private detach(iface: NetInterface, logLine: string): void {
    if (!this.current.attachments.has(iface.ifindex)) return;
    this.current.attachments.detach(iface.ifindex);
    this.opts.log(logLine);
    this.vanished.push(iface.ifindex);
  }

  private matches(iface: NetInterface): boolean {
    return matchesInterface(iface.name, this.rules.include, this.rules.exclude);
  }

  /** Re-reads /sys/class/net: attaches to new matching interfaces, forgets vanished ones. */
  syncInterfaces(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      const changes = diffInterfaces(this.known, await listInterfaces());
      for (const iface of changes.removed) {
        this.known.delete(iface.ifindex);
        this.detach(iface, `interface ${iface.name} is gone`);
      }
      for (const iface of changes.added) {
        this.known.set(iface.ifindex, iface);
        if (this.matches(iface)) this.attach(iface);
      }
    });
  }

  /** New include/exclude rules take effect at once: detach what no longer matches, attach what now does. */
  setRules(rules: CaptureRules): Promise<void> {
    return this.exclusive(async () => {
      this.rules = { include: [...rules.include], exclude: [...rules.exclude] };
      if (this.closed) return;
      for (const iface of this.known.values()) {
        const attached = this.current.attachments.has(iface.ifindex);
        const wanted = this.matches(iface);
        if (attached && !wanted)
          this.detach(iface, `detached from ${iface.name}: capture rules no longer match it`);
        else if (!attached && wanted) this.attach(iface);
      }
    });
  }

  /**
   * Loads another bytecode and moves every attachment to it. The new object is loaded (and its
   * tracepoints attached) before anything of the running one is touched, so a refused bytecode throws
   * with the old one still capturing. Then each interface is detached from the old programs and attached
   * to the new (a gap of microseconds, rather than both counting the same packets), and the old maps are
   * drained so nothing they counted is lost.
   */
  swapBytecode(source: BytecodeSource): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) throw new Error("capture has stopped");
      const next = await LoadedBytecode.load(source, { ...this.opts, attachMode: this.current.mode });
      const old = this.current;
      const moving = [...this.known.values()].filter((i) => old.attachments.has(i.ifindex));
      old.attachments.detachAll();
      this.current = next;
      for (const iface of moving) this.attach(iface);
      const leftover = await this.recordsOf(old);
      this.carried.push(...leftover);
      const oldOverflow = readOverflow(old.kf.maps.overflow, this.cpus);
      this.overflowBase = {
        refused: this.overflowBase.refused + oldOverflow.refused,
        packets: this.overflowBase.packets + oldOverflow.packets,
        bytes: this.overflowBase.bytes + oldOverflow.bytes,
      };
      const errors = old.close();
      if (errors.length > 0)
        this.opts.log(`unloading the previous bytecode: ${errors.map(String).join("; ")}`);
      this.opts.log(`bytecode ${next.sha256.slice(0, 12)} in use (was ${old.sha256.slice(0, 12)})`);
    });
  }

  private async recordsOf(loaded: LoadedBytecode): Promise<FlowRecord[]> {
    this.clock.resync();
    loaded.sockets.refresh();
    return buildRecords(loaded.kf.maps.flows.drain(), {
      deviceName: this.opts.deviceName,
      cpus: this.cpus,
      clock: this.clock,
      sockets: loaded.sockets,
      interfaceName: (ifindex) => this.names.get(ifindex),
      localAddresses: localAddresses(),
      endpointOf: (owner) => this.owners.endpointOf(owner),
    });
  }

  /** Takes everything counted since the last drain out of the kernel as records. */
  drain(): Promise<FlowRecord[]> {
    return this.exclusive(() => this.drainNow());
  }

  private async drainNow(): Promise<FlowRecord[]> {
    const records = [...this.carried, ...(await this.recordsOf(this.current))];
    this.carried = [];
    for (const ifindex of this.vanished)
      if (!this.current.attachments.has(ifindex)) this.names.delete(ifindex);
    this.vanished = [];
    const own = readOverflow(this.current.kf.maps.overflow, this.cpus);
    const total = {
      refused: this.overflowBase.refused + own.refused,
      packets: this.overflowBase.packets + own.packets,
      bytes: this.overflowBase.bytes + own.bytes,
    };
    if (total.refused > this.lastOverflow.refused) {
      this.opts.log(
        `flow map full: ${total.packets - this.lastOverflow.packets} packet(s), ` +
          `${total.bytes - this.lastOverflow.bytes} byte(s) not attributed to a flow; raise mapEntries`,
      );
    }
    this.lastOverflow = total;
    return records;
  }

  /** Detaches everything, drains what was counted up to the detach, and unloads. Idempotent. */
  close(): Promise<FlowRecord[]> {
    return this.exclusive(async () => {
      if (this.closed) return [];
      this.closed = true;
      let records: FlowRecord[] = [];
      try {
        // Detach first, then drain: whatever was counted up to the detach is in this last drain.
        this.current.attachments.detachAll();
        records = await this.drainNow();
      } finally {
        const errors = this.current.close();
        if (errors.length > 0) this.opts.log(`clean-up: ${errors.map((e) => String(e)).join("; ")}`);
      }
      return records;
    });
  }
}
