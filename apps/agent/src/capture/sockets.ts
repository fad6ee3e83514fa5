import type { BpfMap } from "../bpf/map";
import {
  decodeSockOwner,
  decodeSockStats,
  encodeSockKey,
  type SockKey,
  type SockOwner,
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

/** Keys to try for a socket end, most specific first: the connected 5-tuple; a connect() whose
 * handshake has not completed (filed before the kernel picked the local port); then the unconnected
 * socket (no remote yet: UDP servers, sendto clients, TCP listeners) bound to this address or to any. */
export function candidateKeys(end: SocketEnd): SockKey[] {
  const exact: SockKey = { ...end };
  const connecting: SockKey = { ...end, localPort: 0 };
  const unconnected = (localAddr: Buffer): SockKey => ({
    localAddr,
    localPort: end.localPort,
    remoteAddr: zeroAddr,
    remotePort: 0,
    protocol: end.protocol,
  });
  return [exact, connecting, unconnected(end.localAddr), unconnected(v4Any), unconnected(zeroAddr)];
}

const keyId = (k: SockKey) => encodeSockKey(k).toString("hex");

export interface EndMeasurements {
  retransmits: number;
  srttUs: number | null;
  latencySumNs: bigint;
  latencyCount: bigint;
}

interface Pending<T> {
  value: T;
  /** Drains this has waited for a record to carry it. */
  age: number;
}

/** What the tracepoints know about sockets, for one drain: owners looked up on demand (the owner map
 * is an LRU the kernel keeps) and per-interval stats drained once. A retransmit or latency sample whose
 * flow has no packets in the same interval (the retransmission was lost on the way to this interface)
 * waits for the next records of that socket instead of vanishing. The last RTT is remembered across
 * intervals because tcp_probe only fires when segments arrive. */
export class SocketTable {
  private readonly retransmits = new Map<string, Pending<number>>();
  private readonly latencies = new Map<string, Pending<{ sumNs: bigint; count: bigint }>>();
  private readonly lastSrtt = new Map<string, Pending<number>>();
  private readonly ownerCache = new Map<string, SockOwner | null>();
  private readonly consumed = { retransmits: new Set<string>(), latencies: new Set<string>() };

  constructor(
    private readonly owners: BpfMap,
    private readonly statsMap: BpfMap,
    /** Drains an unclaimed measurement (or an RTT without a fresh sample) is kept. */
    private readonly keepDrains = 6,
  ) {}

  /** Starts a drain: forgets what the previous drain's records carried, takes the new stats. */
  refresh(): void {
    this.ownerCache.clear();
    for (const id of this.consumed.retransmits) this.retransmits.delete(id);
    for (const id of this.consumed.latencies) this.latencies.delete(id);
    this.consumed.retransmits.clear();
    this.consumed.latencies.clear();
    for (const map of [this.retransmits, this.latencies, this.lastSrtt] as Map<string, Pending<unknown>>[]) {
      for (const [id, p] of map) if (++p.age > this.keepDrains) map.delete(id);
    }
    for (const { key, value } of this.statsMap.drain()) {
      const id = key.toString("hex");
      const s = decodeSockStats(value);
      if (s.retransmits > 0n) {
        const prev = this.retransmits.get(id)?.value ?? 0;
        this.retransmits.set(id, { value: prev + Number(s.retransmits), age: 0 });
      }
      if (s.latencyCount > 0n) {
        const prev = this.latencies.get(id)?.value ?? { sumNs: 0n, count: 0n };
        this.latencies.set(id, {
          value: { sumNs: prev.sumNs + s.latencySumNs, count: prev.count + s.latencyCount },
          age: 0,
        });
      }
      if (s.srttUs > 0) this.lastSrtt.set(id, { value: s.srttUs, age: 0 });
    }
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

  /** Measurements of a socket end for this drain's records. Retransmits are claimed only by records
   * the end sent (`sender`), latency by any record of the conversation. */
  measurementsOf(end: SocketEnd, sender: boolean): EndMeasurements {
    const out: EndMeasurements = { retransmits: 0, srttUs: null, latencySumNs: 0n, latencyCount: 0n };
    const [exact, , ...unconnected] = candidateKeys(end).map(keyId);
    if (exact === undefined) return out;
    out.srttUs = this.lastSrtt.get(exact)?.value ?? null;
    const retransmits = this.retransmits.get(exact);
    if (sender && retransmits) {
      out.retransmits = retransmits.value;
      this.consumed.retransmits.add(exact);
    }
    // Latency of unconnected UDP clients is recorded under their unconnected socket.
    for (const id of [exact, ...unconnected]) {
      const latency = this.latencies.get(id);
      if (latency) {
        out.latencySumNs = latency.value.sumNs;
        out.latencyCount = latency.value.count;
        this.consumed.latencies.add(id);
        break;
      }
    }
    return out;
  }
}
