import { type Endpoint, emptyEndpoint, type FlowRecord } from "@kernflow/protocol";
import type { MapEntry } from "../bpf/map";
import { decodeFlowKey, type FlowKey, type SockOwner, sumFlowValues } from "../bpf/structs";
import { formatAddress } from "./addresses";
import type { KtimeClock } from "./clock";
import type { EndMeasurements, SocketEnd, SocketTable } from "./sockets";

const IPPROTO_TCP = 6;

/** Everything a drain needs besides the kernel's counters. */
export interface RecordContext {
  deviceName: string;
  cpus: number;
  clock: KtimeClock;
  sockets: SocketTable;
  /** ifindex -> name, including interfaces that vanished since the last drain. */
  interfaceName: (ifindex: number) => string | undefined;
  localAddresses: ReadonlySet<string>;
  /** Process and container metadata of a local socket owner. */
  endpointOf: (owner: SockOwner) => Promise<Endpoint>;
}

function ends(key: FlowKey): { src: SocketEnd; dst: SocketEnd } {
  return {
    src: {
      localAddr: key.srcAddr,
      localPort: key.srcPort,
      remoteAddr: key.dstAddr,
      remotePort: key.dstPort,
      protocol: key.protocol,
    },
    dst: {
      localAddr: key.dstAddr,
      localPort: key.dstPort,
      remoteAddr: key.srcAddr,
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
 * under their ifindex so no counted traffic disappears. */
export async function buildRecords(entries: readonly MapEntry[], ctx: RecordContext): Promise<FlowRecord[]> {
  const endpoints = new Map<number, Promise<Endpoint>>();
  const endpointFor = (owner: SockOwner | null): Promise<Endpoint> => {
    if (!owner) return Promise.resolve(emptyEndpoint());
    let p = endpoints.get(owner.tgid);
    if (!p) {
      p = ctx.endpointOf(owner);
      endpoints.set(owner.tgid, p);
    }
    return p;
  };

  const records: Promise<FlowRecord>[] = [];
  for (const entry of entries) {
    const key = decodeFlowKey(entry.key);
    const counters = sumFlowValues(entry.value, ctx.cpus);
    if (counters.packets === 0n) continue;
    const { src, dst } = ends(key);
    const srcAddr = formatAddress(key.srcAddr);
    const dstAddr = formatAddress(key.dstAddr);
    const srcMeasure = ctx.sockets.measurementsOf(src, true);
    const dstMeasure = ctx.sockets.measurementsOf(dst, false);
    const isTcp = key.protocol === IPPROTO_TCP;
    const srcOwner = ctx.sockets.ownerOf(src);
    const dstOwner = ctx.sockets.ownerOf(dst);
    records.push(
      Promise.all([endpointFor(srcOwner), endpointFor(dstOwner)]).then(([srcEndpoint, dstEndpoint]) => ({
        ts_start: ctx.clock.toIso(counters.firstNs),
        ts_end: ctx.clock.toIso(counters.lastNs),
        device: ctx.deviceName,
        vantage: ctx.localAddresses.has(srcAddr) ? "src" : "dst",
        interface: ctx.interfaceName(key.ifindex) ?? `if${key.ifindex}`,
        direction: key.direction,
        protocol: key.protocol,
        src_addr: srcAddr,
        dst_addr: dstAddr,
        src_port: key.srcPort,
        dst_port: key.dstPort,
        bytes: Number(counters.bytes),
        packets: Number(counters.packets),
        sample_rate: 1,
        tcp_flags: counters.tcpFlags,
        retransmits: isTcp ? srcMeasure.retransmits : 0,
        rtt_us: isTcp ? connectionRtt(srcMeasure.srttUs, dstMeasure.srttUs) : null,
        app_latency_ms: latencyMs(srcMeasure, dstMeasure),
        src: srcEndpoint,
        dst: dstEndpoint,
        cluster_id: null,
      })),
    );
  }
  return Promise.all(records);
}
