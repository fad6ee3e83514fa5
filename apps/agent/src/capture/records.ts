import { type Endpoint, emptyEndpoint, type FlowRecord } from "@kernflow/protocol";
import type { MapEntry } from "../bpf/map";
import { decodeFlowKey, type FlowKey, type SockOwner, sumFlowValues } from "../bpf/structs";
import { formatAddress } from "./addresses";
import type { KtimeClock } from "./clock";
import { candidateIds, type EndMeasurements, type SocketEnd, type SocketTable } from "./sockets";

const IPPROTO_TCP = 6;

/** Everything a drain needs besides the kernel's counters. */
export interface RecordContext {
  deviceName: string;
  cpus: number;
  clock: KtimeClock;
  sockets: SocketTable;
  /** ifindex -> name, including interfaces that vanished since the last drain. */
  interfaceName: (ifindex: number) => string | undefined;
  /** Addresses of this host's interfaces (its own network namespace). */
  localAddresses: ReadonlySet<string>;
  /** Process and container metadata of a local socket owner. */
  endpointOf: (owner: SockOwner) => Promise<Endpoint>;
}

function ends(key: FlowKey): { src: SocketEnd; dst: SocketEnd } {
  const srcHex = key.srcAddr.toString("hex");
  const dstHex = key.dstAddr.toString("hex");
  return {
    src: {
      localHex: srcHex,
      localPort: key.srcPort,
      remoteHex: dstHex,
      remotePort: key.dstPort,
      protocol: key.protocol,
    },
    dst: {
      localHex: dstHex,
      localPort: key.dstPort,
      remoteHex: srcHex,
      remotePort: key.srcPort,
      protocol: key.protocol,
    },
  };
}

function latencyMs(a: EndMeasurements, b: EndMeasurements): number | null {
  // Only the client end measures latency, so at most one end has samples.
  const m = a.latencyCount > 0n ? a : b.latencyCount > 0n ? b : null;
  if (!m) return null;
  return Number(m.latencySumNs / m.latencyCount) / 1e6;
}

/** Both ends estimate the same path; the larger estimate carries delayed ACKs or a slow peer
 * application, so the smaller is the connection's round trip. */
function connectionRtt(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/** Turns drained flow-map entries into flow records; entries of interfaces no longer known are kept
 * under their ifindex so no counted traffic disappears. Endpoint metadata is resolved once per process. */
export async function buildRecords(entries: readonly MapEntry[], ctx: RecordContext): Promise<FlowRecord[]> {
  const pending: { record: FlowRecord; srcOwner: SockOwner | null; dstOwner: SockOwner | null }[] = [];
  const owners = new Map<number, SockOwner>();
  for (const entry of entries) {
    const key = decodeFlowKey(entry.key);
    const counters = sumFlowValues(entry.value, ctx.cpus);
    if (counters.packets === 0n) continue;
    const { src, dst } = ends(key);
    const srcIds = candidateIds(src);
    const dstIds = candidateIds(dst);
    const srcAddr = formatAddress(key.srcAddr);
    const srcMeasure = ctx.sockets.measurementsOf(srcIds, true);
    const dstMeasure = ctx.sockets.measurementsOf(dstIds, false);
    const isTcp = key.protocol === IPPROTO_TCP;
    const srcOwner = ctx.sockets.ownerOf(srcIds);
    const dstOwner = ctx.sockets.ownerOf(dstIds);
    if (srcOwner) owners.set(srcOwner.tgid, srcOwner);
    if (dstOwner) owners.set(dstOwner.tgid, dstOwner);
    pending.push({
      srcOwner,
      dstOwner,
      record: {
        ts_start: ctx.clock.toIso(counters.firstNs),
        ts_end: ctx.clock.toIso(counters.lastNs),
        device: ctx.deviceName,
        // A source socket owned by a process here is local too: pods and other namespaces on this
        // host have addresses the host's own interfaces do not carry.
        vantage: ctx.localAddresses.has(srcAddr) || srcOwner !== null ? "src" : "dst",
        interface: ctx.interfaceName(key.ifindex) ?? `if${key.ifindex}`,
        direction: key.direction,
        protocol: key.protocol,
        src_addr: srcAddr,
        dst_addr: formatAddress(key.dstAddr),
        src_port: key.srcPort,
        dst_port: key.dstPort,
        bytes: Number(counters.bytes),
        packets: Number(counters.packets),
        sample_rate: 1,
        tcp_flags: counters.tcpFlags,
        retransmits: isTcp ? srcMeasure.retransmits : 0,
        rtt_us: isTcp ? connectionRtt(srcMeasure.srttUs, dstMeasure.srttUs) : null,
        app_latency_ms: latencyMs(srcMeasure, dstMeasure),
        src: emptyEndpoint(),
        dst: emptyEndpoint(),
        cluster_id: null,
      },
    });
  }
  const endpoints = new Map<number, Endpoint>();
  await Promise.all(
    [...owners.values()].map(async (owner) => {
      endpoints.set(owner.tgid, await ctx.endpointOf(owner));
    }),
  );
  const endpointOf = (owner: SockOwner | null) => {
    const endpoint = owner ? endpoints.get(owner.tgid) : undefined;
    // A copy per record: sinks may enrich records independently.
    return endpoint ? { ...endpoint } : emptyEndpoint();
  };
  return pending.map(({ record, srcOwner, dstOwner }) => {
    record.src = endpointOf(srcOwner);
    record.dst = endpointOf(dstOwner);
    return record;
  });
}
