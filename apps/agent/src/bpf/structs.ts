/** Mirror of the structs in bpf/kernflow.h: sizes, field offsets, and decoders. structs.test.ts checks
 * every number here against the BTF of the compiled object, so the two cannot drift apart. */

export interface StructLayout {
  readonly size: number;
  readonly fields: Readonly<Record<string, number>>;
}

export const flowKeyLayout = {
  size: 44,
  fields: {
    src_addr: 0,
    dst_addr: 16,
    src_port: 32,
    dst_port: 34,
    ifindex: 36,
    protocol: 40,
    direction: 41,
    pad: 42,
  },
} as const satisfies StructLayout;

export const flowValueLayout = {
  size: 40,
  fields: { bytes: 0, packets: 8, first_ns: 16, last_ns: 24, tcp_flags: 32, pad: 34 },
} as const satisfies StructLayout;

export const sockKeyLayout = {
  size: 40,
  fields: { local_addr: 0, remote_addr: 16, local_port: 32, remote_port: 34, protocol: 36, pad: 37 },
} as const satisfies StructLayout;

export const sockOwnerLayout = {
  size: 40,
  fields: { pid: 0, tgid: 4, cgroup_id: 8, seen_ns: 16, comm: 24 },
} as const satisfies StructLayout;

export const sockStatsLayout = {
  size: 32,
  fields: { retransmits: 0, latency_sum_ns: 8, latency_count: 16, srtt_us: 24, pad: 28 },
} as const satisfies StructLayout;

export const sockStateLayout = {
  size: 64,
  fields: { last_send_ns: 0, role: 8, awaiting_response: 9, pad: 10, connector: 16, srtt_sampled_ns: 56 },
} as const satisfies StructLayout;

export const overflowLayout = {
  size: 24,
  fields: { refused: 0, packets: 8, bytes: 16 },
} as const satisfies StructLayout;

export const ifaceLayout = {
  size: 8,
  fields: { link_header_len: 0, pad: 4 },
} as const satisfies StructLayout;

/** struct name in kernflow.h -> its mirror. */
export const kernelStructs: Readonly<Record<string, StructLayout>> = {
  kf_flow_key: flowKeyLayout,
  kf_flow_value: flowValueLayout,
  kf_sock_key: sockKeyLayout,
  kf_sock_owner: sockOwnerLayout,
  kf_sock_stats: sockStatsLayout,
  kf_sock_state: sockStateLayout,
  kf_overflow: overflowLayout,
  kf_iface: ifaceLayout,
};

export const Direction = { ingress: 0, egress: 1 } as const;

export interface FlowKey {
  /** 16 bytes, IPv6 or IPv4-mapped IPv6. */
  srcAddr: Buffer;
  dstAddr: Buffer;
  srcPort: number;
  dstPort: number;
  ifindex: number;
  protocol: number;
  direction: "ingress" | "egress";
}

export interface FlowCounters {
  bytes: bigint;
  packets: bigint;
  firstNs: bigint;
  lastNs: bigint;
  tcpFlags: number;
}

export interface SockKey {
  localAddr: Buffer;
  remoteAddr: Buffer;
  localPort: number;
  remotePort: number;
  protocol: number;
}

export interface SockOwner {
  tid: number;
  tgid: number;
  cgroupId: bigint;
  seenNs: bigint;
  comm: string;
}

export interface SockStats {
  retransmits: bigint;
  latencySumNs: bigint;
  latencyCount: bigint;
  srttUs: number;
}

export interface Overflow {
  refused: bigint;
  packets: bigint;
  bytes: bigint;
}

const F = flowKeyLayout.fields;
export function decodeFlowKey(b: Buffer): FlowKey {
  return {
    srcAddr: Buffer.from(b.subarray(F.src_addr, F.src_addr + 16)),
    dstAddr: Buffer.from(b.subarray(F.dst_addr, F.dst_addr + 16)),
    srcPort: b.readUInt16LE(F.src_port),
    dstPort: b.readUInt16LE(F.dst_port),
    ifindex: b.readUInt32LE(F.ifindex),
    protocol: b.readUInt8(F.protocol),
    direction: b.readUInt8(F.direction) === Direction.egress ? "egress" : "ingress",
  };
}

/** Sums the per-CPU slots of one kf_flow_value (each slot is rounded up to 8 bytes by the kernel). */
export function sumFlowValues(b: Buffer, cpus: number): FlowCounters {
  const V = flowValueLayout.fields;
  const stride = roundUp8(flowValueLayout.size);
  const total: FlowCounters = { bytes: 0n, packets: 0n, firstNs: 0n, lastNs: 0n, tcpFlags: 0 };
  for (let cpu = 0; cpu < cpus; cpu++) {
    const o = cpu * stride;
    const packets = b.readBigUInt64LE(o + V.packets);
    if (packets === 0n) continue;
    total.bytes += b.readBigUInt64LE(o + V.bytes);
    total.packets += packets;
    const first = b.readBigUInt64LE(o + V.first_ns);
    const last = b.readBigUInt64LE(o + V.last_ns);
    if (total.firstNs === 0n || first < total.firstNs) total.firstNs = first;
    if (last > total.lastNs) total.lastNs = last;
    total.tcpFlags |= b.readUInt16LE(o + V.tcp_flags);
  }
  return total;
}

const S = sockKeyLayout.fields;
export function decodeSockKey(b: Buffer): SockKey {
  return {
    localAddr: Buffer.from(b.subarray(S.local_addr, S.local_addr + 16)),
    remoteAddr: Buffer.from(b.subarray(S.remote_addr, S.remote_addr + 16)),
    localPort: b.readUInt16LE(S.local_port),
    remotePort: b.readUInt16LE(S.remote_port),
    protocol: b.readUInt8(S.protocol),
  };
}

export function encodeSockKey(k: SockKey): Buffer {
  const b = Buffer.alloc(sockKeyLayout.size);
  k.localAddr.copy(b, S.local_addr);
  k.remoteAddr.copy(b, S.remote_addr);
  b.writeUInt16LE(k.localPort, S.local_port);
  b.writeUInt16LE(k.remotePort, S.remote_port);
  b.writeUInt8(k.protocol, S.protocol);
  return b;
}

export function decodeSockOwner(b: Buffer): SockOwner {
  const O = sockOwnerLayout.fields;
  const comm = b.subarray(O.comm, O.comm + 16);
  const end = comm.indexOf(0);
  return {
    tid: b.readUInt32LE(O.pid),
    tgid: b.readUInt32LE(O.tgid),
    cgroupId: b.readBigUInt64LE(O.cgroup_id),
    seenNs: b.readBigUInt64LE(O.seen_ns),
    comm: comm.subarray(0, end < 0 ? 16 : end).toString("utf8"),
  };
}

export function decodeSockStats(b: Buffer): SockStats {
  const T = sockStatsLayout.fields;
  return {
    retransmits: b.readBigUInt64LE(T.retransmits),
    latencySumNs: b.readBigUInt64LE(T.latency_sum_ns),
    latencyCount: b.readBigUInt64LE(T.latency_count),
    srttUs: b.readUInt32LE(T.srtt_us),
  };
}

export function sumOverflow(b: Buffer, cpus: number): Overflow {
  const O = overflowLayout.fields;
  const stride = roundUp8(overflowLayout.size);
  const total: Overflow = { refused: 0n, packets: 0n, bytes: 0n };
  for (let cpu = 0; cpu < cpus; cpu++) {
    total.refused += b.readBigUInt64LE(cpu * stride + O.refused);
    total.packets += b.readBigUInt64LE(cpu * stride + O.packets);
    total.bytes += b.readBigUInt64LE(cpu * stride + O.bytes);
  }
  return total;
}

export function encodeIface(linkHeaderLen: number): Buffer {
  const b = Buffer.alloc(ifaceLayout.size);
  b.writeUInt32LE(linkHeaderLen, ifaceLayout.fields.link_header_len);
  return b;
}

export function roundUp8(n: number): number {
  return (n + 7) & ~7;
}
