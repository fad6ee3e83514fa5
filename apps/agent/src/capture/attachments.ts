import type { BpfMap } from "../bpf/map";
import { encodeIface } from "../bpf/structs";
import {
  type AttachMode,
  attachClsact,
  attachTcx,
  InterfaceGoneError,
  removeStaleClsact,
  type TcAttachment,
} from "../bpf/tc";
import type { NetInterface } from "./interfaces";

/** The tc programs attached to each captured interface, both directions. */
export class InterfaceAttachments {
  private readonly attached = new Map<number, { iface: NetInterface; links: TcAttachment[] }>();

  constructor(
    private readonly mode: AttachMode,
    private readonly ingressFd: number,
    private readonly egressFd: number,
    private readonly ifaces: BpfMap,
    private readonly log: (msg: string) => void,
  ) {}

  has(ifindex: number): boolean {
    return this.attached.has(ifindex);
  }

  get size(): number {
    return this.attached.size;
  }

  /** Attaches both directions; returns false when the interface vanished meanwhile. */
  attach(iface: NetInterface): boolean {
    if (this.attached.has(iface.ifindex)) return true;
    const links: TcAttachment[] = [];
    try {
      // A killed earlier run leaves clsact filters behind (tcx links die with their process).
      const stale = removeStaleClsact(iface.ifindex);
      if (stale > 0) this.log(`removed ${stale} tc filter(s) left on ${iface.name} by an earlier run`);
      const key = Buffer.alloc(4);
      key.writeUInt32LE(iface.ifindex);
      this.ifaces.update(key, encodeIface(iface.linkHeaderLen));
      const attach = this.mode === "tcx" ? attachTcx : attachClsact;
      links.push(attach(this.ingressFd, iface.ifindex, "ingress"));
      links.push(attach(this.egressFd, iface.ifindex, "egress"));
    } catch (error) {
      for (const link of links) link.detach();
      if (error instanceof InterfaceGoneError) return false;
      throw error;
    }
    this.attached.set(iface.ifindex, { iface, links });
    this.log(`attached to ${iface.name} (ifindex ${iface.ifindex}, ${this.mode})`);
    return true;
  }

  detach(ifindex: number): void {
    const entry = this.attached.get(ifindex);
    if (!entry) return;
    this.attached.delete(ifindex);
    for (const link of entry.links) link.detach();
    const key = Buffer.alloc(4);
    key.writeUInt32LE(ifindex);
    this.ifaces.delete(key);
  }

  detachAll(): void {
    const errors: unknown[] = [];
    for (const ifindex of [...this.attached.keys()]) {
      try {
        this.detach(ifindex);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, "detaching tc programs failed");
  }
}
