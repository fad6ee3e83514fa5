import type { BpfMap } from "../bpf/map";
import {
  decodeSockOwner,
  decodeSockStats,
  encodeSockKey,
  type SockKey,
  type SockOwner,
  type SockStats,
} from "../bpf/structs";

const zeroAddr = Buffer.alloc(16);
const v4Any = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]);

/** One end of a conversation as seen from its own socket. */
export interface SocketEnd {
  localAddr: Buffer;
  localPort: number;
  remoteAddr: Buffer;
  remotePort: number;
  protocol: number;
}

/** Keys to try for a socket end, most specific first: the connected 5-tuple, then the unconnected
 * socket (no remote yet, as with UDP servers and sendto clients) bound to this address or to any. */
export function candidateKeys(end: SocketEnd): SockKey[] {
  const exact: SockKey = { ...end };
  const unconnected = (localAddr: Buffer): SockKey => ({
    localAddr,
    localPort: end.localPort,
    remoteAddr: zeroAddr,
    remotePort: 0,
    protocol: end.protocol,
  });
  return [exact, unconnected(end.localAddr), unconnected(v4Any), unconnected(zeroAddr)];
}

const keyId = (k: SockKey) => encodeSockKey(k).toString("hex");

export interface EndMeasurements {
  retransmits: number;
  srttUs: number | null;
  latencySumNs: bigint;
  latencyCount: bigint;
}

/** What the tracepoints know about sockets, for one drain: owners looked up on demand (the owner map
 * is an LRU the kernel keeps), per-interval stats drained once, and the last RTT remembered across
 * intervals because tcp_probe only fires when segments arrive. */
export class SocketTable {
  private stats = new Map<string, SockStats>();
  private readonly lastSrtt = new Map<string, { srttUs: number; drain: number }>();
  private readonly ownerCache = new Map<string, SockOwner | null>();
  private drainNo = 0;

  constructor(
    private readonly owners: BpfMap,
    private readonly statsMap: BpfMap,
    /** Intervals an RTT stays valid without a fresh sample. */
    private readonly srttTtl = 6,
  ) {}

  /** Starts a drain: takes the interval's socket stats out of the kernel. */
  refresh(): void {
    this.drainNo++;
    this.ownerCache.clear();
    this.stats = new Map();
    for (const { key, value } of this.statsMap.drain()) {
      const id = key.toString("hex");
      const s = decodeSockStats(value);
      this.stats.set(id, s);
      if (s.srttUs > 0) this.lastSrtt.set(id, { srttUs: s.srttUs, drain: this.drainNo });
    }
    for (const [id, v] of this.lastSrtt) if (this.drainNo - v.drain > this.srttTtl) this.lastSrtt.delete(id);
  }

  ownerOf(end: SocketEnd): SockOwner | null {
    for (const key of candidateKeys(end)) {
      const id = keyId(key);
      let owner = this.ownerCache.get(id);
      if (owner === undefined) {
        const raw = this.owners.lookup(encodeSockKey(key));
        owner = raw ? decodeSockOwner(raw) : null;
        this.ownerCache.set(id, owner);
      }
      if (owner) return owner;
    }
    return null;
  }

  measurementsOf(end: SocketEnd): EndMeasurements {
    const out: EndMeasurements = { retransmits: 0, srttUs: null, latencySumNs: 0n, latencyCount: 0n };
    const [exact, ...unconnected] = candidateKeys(end).map(keyId);
    if (exact === undefined) return out;
    const s = this.stats.get(exact);
    if (s) {
      out.retransmits = Number(s.retransmits);
      out.latencySumNs = s.latencySumNs;
      out.latencyCount = s.latencyCount;
    }
    out.srttUs = this.lastSrtt.get(exact)?.srttUs ?? null;
    if (out.latencyCount === 0n) {
      // Latency of unconnected UDP clients is recorded under their unconnected socket.
      for (const id of unconnected) {
        const u = this.stats.get(id);
        if (u && u.latencyCount > 0n) {
          out.latencySumNs = u.latencySumNs;
          out.latencyCount = u.latencyCount;
          break;
        }
      }
    }
    return out;
  }
}
