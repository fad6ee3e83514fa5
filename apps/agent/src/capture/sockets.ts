import type { BpfMap } from "../bpf/map";
import {
  decodeSockKey,
  decodeSockOwner,
  decodeSockStats,
  type SockKey,
  type SockOwner,
} from "../bpf/structs";

const zeroHex = "00".repeat(16);
const v4AnyHex = `${"00".repeat(10)}ffff00000000`;

/** One end of a conversation as seen from its own socket; addresses as hex of the 16 kernel bytes. */
export interface SocketEnd {
  localHex: string;
  localPort: number;
  remoteHex: string;
  remotePort: number;
  protocol: number;
}

/** Map-friendly identity of a socket key (strings: cheaper than encoding kernel structs per lookup). */
function endId(
  localHex: string,
  localPort: number,
  remoteHex: string,
  remotePort: number,
  protocol: number,
): string {
  return `${localHex}:${localPort}>${remoteHex}:${remotePort}/${protocol}`;
}

export function sockKeyId(k: SockKey): string {
  return endId(
    k.localAddr.toString("hex"),
    k.localPort,
    k.remoteAddr.toString("hex"),
    k.remotePort,
    k.protocol,
  );
}

/** Keys to try for a socket end, most specific first: the connected 5-tuple; a connect() whose
 * handshake has not completed (filed before the kernel picked the local port); then the unconnected
 * socket (no remote yet: UDP servers, sendto clients, TCP listeners) bound to this address or to any. */
export function candidateIds(end: SocketEnd): [exact: string, connecting: string, ...unconnected: string[]] {
  const { localHex, localPort, remoteHex, remotePort, protocol } = end;
  return [
    endId(localHex, localPort, remoteHex, remotePort, protocol),
    endId(localHex, 0, remoteHex, remotePort, protocol),
    endId(localHex, localPort, zeroHex, 0, protocol),
    endId(v4AnyHex, localPort, zeroHex, 0, protocol),
    endId(zeroHex, localPort, zeroHex, 0, protocol),
  ];
}

const keyId = sockKeyId;

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

/** What the tracepoints know about sockets, for one drain: the owners (an LRU map the kernel keeps, read
 * whole once per drain) and per-interval stats drained once. A retransmit or latency sample whose
 * flow has no packets in the same interval (the retransmission was lost on the way to this interface)
 * waits for the next records of that socket instead of vanishing. The last RTT is remembered across
 * intervals because tcp_probe only fires when segments arrive. */
export class SocketTable {
  private readonly retransmits = new Map<string, Pending<number>>();
  private readonly latencies = new Map<string, Pending<{ sumNs: bigint; count: bigint }>>();
  private readonly lastSrtt = new Map<string, Pending<number>>();
  private readonly ownerCache = new Map<string, SockOwner>();
  /** The owner map as of this drain: one batch read instead of a lookup per flow end and candidate. */
  private ownerSnapshot = new Map<string, Buffer>();
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
    this.ownerSnapshot = new Map(this.owners.dump().map((e) => [keyId(decodeSockKey(e.key)), e.value]));
    for (const id of this.consumed.retransmits) this.retransmits.delete(id);
    for (const id of this.consumed.latencies) this.latencies.delete(id);
    this.consumed.retransmits.clear();
    this.consumed.latencies.clear();
    for (const map of [this.retransmits, this.latencies, this.lastSrtt] as Map<string, Pending<unknown>>[]) {
      for (const [id, p] of map) if (++p.age > this.keepDrains) map.delete(id);
    }
    for (const { key, value } of this.statsMap.drain()) {
      const id = keyId(decodeSockKey(key));
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

  ownerOf(ids: readonly string[]): SockOwner | null {
    for (const id of ids) {
      const raw = this.ownerSnapshot.get(id);
      if (!raw) continue;
      let owner = this.ownerCache.get(id);
      if (!owner) {
        owner = decodeSockOwner(raw);
        this.ownerCache.set(id, owner);
      }
      return owner;
    }
    return null;
  }

  /** Measurements of a socket end for this drain's records. Retransmits are claimed only by records
   * the end sent (`sender`), latency by any record of the conversation. */
  measurementsOf(ids: ReturnType<typeof candidateIds>, sender: boolean): EndMeasurements {
    const out: EndMeasurements = { retransmits: 0, srttUs: null, latencySumNs: 0n, latencyCount: 0n };
    const [exact, , ...unconnected] = ids;
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
