// Test data and the reference answer for the flow query tests: a deterministic day of flow records, and a
// direct TypeScript computation of what a FlowQuery should return over them (no SQL), written from the
// query model's documentation rather than from the engine.
import type { FlowDimension, FlowQuery, FlowRecord } from "@kernflow/protocol";
import { volumeMetrics } from "@kernflow/protocol";

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const processes = ["nginx", "postgres", "curl", "python3", "node", "envoy", "redis-server", null];
const workloads = ["checkout", "payments", "catalog", "search", null];
const namespaces = ["shop", "infra", null];

function endpoint(rand: () => number, addr: string) {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const proc = pick(processes);
  const workload = pick(workloads);
  return {
    pid: proc === null ? null : 100 + Math.floor(rand() * 50),
    process_name: proc,
    process_cmdline: proc === null ? null : `${proc} --serve ${addr}`,
    container_id: workload === null ? null : `c${Math.floor(rand() * 8)}`,
    container_name: workload,
    node: pick(["node-a", "node-b", null]),
    object_name: workload === null ? null : `${workload}-${Math.floor(rand() * 3)}`,
    object_namespace: workload === null ? null : pick(namespaces),
    object_type: workload === null ? null : pick(["pod", "service"] as const),
    workload_name: workload,
    workload_namespace: workload === null ? null : pick(namespaces),
    object_labels: workload === null ? null : { app: workload },
  };
}

const v4 = ["10.0.0.1", "10.0.0.2", "10.0.1.7", "10.1.2.3", "192.168.5.9", "172.16.0.4"];
const v6 = ["2001:db8::1", "2001:db8::2", "2001:db8:1::9", "fd00::5"];

/** `count` records per device spread over [fromMs, fromMs + 24 h), deterministic for a seed. */
export function generateDay(
  devices: readonly string[],
  fromMs: number,
  count: number,
  seed = 1,
): FlowRecord[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const out: FlowRecord[] = [];
  for (const device of devices) {
    for (let i = 0; i < count; i++) {
      const start = fromMs + Math.floor(rand() * 86_400_000);
      const ipv6 = rand() < 0.25;
      const src = pick(ipv6 ? v6 : v4);
      const dst = pick(ipv6 ? v6 : v4);
      const tcp = rand() < 0.8;
      const sampleRate = rand() < 0.2 ? 10 : 1;
      const packets = 1 + Math.floor(rand() * 200);
      out.push({
        ts_start: new Date(start).toISOString(),
        ts_end: new Date(start + Math.floor(rand() * 10_000)).toISOString(),
        device,
        vantage: rand() < 0.5 ? "src" : "dst",
        interface: pick(["eth0", "eth1", "veth3"]),
        direction: rand() < 0.5 ? "ingress" : "egress",
        protocol: tcp ? 6 : 17,
        src_addr: src,
        dst_addr: dst,
        src_port: 30_000 + Math.floor(rand() * 1000),
        dst_port: pick([80, 443, 5432, 6379, 53]),
        bytes: packets * (40 + Math.floor(rand() * 1400)),
        packets,
        sample_rate: sampleRate,
        tcp_flags: tcp ? 0x18 : 0,
        retransmits: tcp && rand() < 0.3 ? Math.floor(rand() * 5) : 0,
        rtt_us: tcp && rand() < 0.7 ? 100 + Math.floor(rand() * 50_000) : null,
        app_latency_ms: tcp && rand() < 0.5 ? Math.round(rand() * 500_000) / 1000 : null,
        src: endpoint(rand, src),
        dst: endpoint(rand, dst),
        cluster_id: pick(["prod", "staging", null]),
      });
    }
  }
  return out;
}

function dimensionValue(r: FlowRecord, d: FlowDimension): string | null {
  let v: unknown;
  if (d.startsWith("src_") && d !== "src_addr" && d !== "src_port")
    v = r.src[d.slice(4) as keyof FlowRecord["src"]];
  else if (d.startsWith("dst_") && d !== "dst_addr" && d !== "dst_port") {
    v = r.dst[d.slice(4) as keyof FlowRecord["dst"]];
  } else v = r[d as keyof FlowRecord];
  return v === null || v === undefined ? null : String(v);
}

function ipv4ToInt(a: string): number {
  return a.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}
function ipv6ToBigInt(a: string): bigint {
  const [head, tail] = a.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(Number.parseInt(g, 16)), 0n);
}
function inCidr(addr: string, cidr: string): boolean {
  const [net, bits] = cidr.split("/") as [string, string];
  const n = Number(bits);
  if (addr.includes(":") !== net.includes(":")) return false;
  if (!addr.includes(":")) {
    const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
    return (ipv4ToInt(addr) & mask) >>> 0 === (ipv4ToInt(net) & mask) >>> 0;
  }
  const shift = BigInt(128 - n);
  return ipv6ToBigInt(addr) >> shift === ipv6ToBigInt(net) >> shift;
}

function percentile(sorted: number[], p: number): number {
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

export interface ReferenceSeries {
  key: (string | null)[];
  other: boolean;
  points: (number | null)[];
  summary: number | null;
  bytes: number;
  packets: number;
  records: number;
}

/** What the query should answer over `records` for the absolute range [fromMs, toMs). */
export function referenceQuery(records: readonly FlowRecord[], q: FlowQuery, fromMs: number, toMs: number) {
  const volume = volumeMetrics.includes(q.metric);
  const vantage = q.vantage ?? (volume ? "src" : "all");
  const b = q.bucket_seconds as number;
  const nb = Math.ceil((toMs - fromMs) / (b * 1000));
  const width = (i: number) => (Math.min(toMs, fromMs + (i + 1) * b * 1000) - (fromMs + i * b * 1000)) / 1000;
  const value = (r: FlowRecord): number | null => {
    switch (q.metric) {
      case "bits_per_s":
        return r.bytes * r.sample_rate * 8;
      case "packets_per_s":
        return r.packets * r.sample_rate;
      case "retransmits_per_s":
        return r.retransmits;
      case "app_latency_ms":
        return r.app_latency_ms;
      case "rtt_ms":
        return r.rtt_us === null ? null : r.rtt_us / 1000;
    }
  };
  const rows = records.filter((r) => {
    const t = Date.parse(r.ts_start);
    if (t < fromMs || t >= toMs) return false;
    if (vantage !== "all" && r.vantage !== vantage) return false;
    if (value(r) === null) return false;
    return q.filters.every((f) => {
      const v = dimensionValue(r, f.dimension);
      switch (f.op) {
        case "eq":
          return v === f.value;
        case "neq":
          return v !== f.value;
        case "prefix":
          return v?.startsWith(f.value) ?? false;
        case "cidr":
          return v !== null && inCidr(v, f.value);
      }
      return false;
    });
  });
  const aggregate = (values: number[]): number | null => {
    if (values.length === 0) return null;
    if (volume) return values.reduce((a, c) => a + c, 0);
    const sorted = [...values].sort((x, y) => x - y);
    switch (q.aggregate) {
      case "avg":
        return values.reduce((a, c) => a + c, 0) / values.length;
      case "max":
        return sorted[sorted.length - 1] as number;
      case "p50":
        return percentile(sorted, 0.5);
      case "p95":
        return percentile(sorted, 0.95);
      case "p99":
        return percentile(sorted, 0.99);
    }
  };
  // The engine's key text: PostgreSQL's json_build_array rendering, which also breaks ties in the ranking.
  const keyOf = (r: FlowRecord) => q.group_by.map((d) => dimensionValue(r, d));
  const keyText = (k: (string | null)[]) =>
    `[${k.map((v) => (v === null ? "null" : JSON.stringify(v))).join(", ")}]`;
  const groups = new Map<string, { key: (string | null)[]; rows: FlowRecord[] }>();
  for (const r of rows) {
    const key = keyOf(r);
    const text = keyText(key);
    let g = groups.get(text);
    if (!g) {
      g = { key, rows: [] };
      groups.set(text, g);
    }
    g.rows.push(r);
  }
  const ranked = [...groups.entries()]
    .map(([text, g]) => ({ text, ...g, score: aggregate(g.rows.map((r) => value(r) as number)) as number }))
    .sort((x, y) => y.score - x.score || (x.text < y.text ? -1 : x.text > y.text ? 1 : 0));
  const top = ranked.slice(0, q.top_n);
  const rest = ranked.slice(q.top_n).flatMap((g) => g.rows);
  const seriesOf = (key: (string | null)[], other: boolean, rs: FlowRecord[]): ReferenceSeries => {
    const perBucket: number[][] = Array.from({ length: nb }, () => []);
    for (const r of rs) {
      const i = Math.floor((Date.parse(r.ts_start) - fromMs) / (b * 1000));
      perBucket[i]?.push(value(r) as number);
    }
    const total = aggregate(rs.map((r) => value(r) as number));
    return {
      key,
      other,
      points: perBucket.map((vs, i) => {
        const a = aggregate(vs);
        return a === null ? null : volume ? a / width(i) : a;
      }),
      summary: total === null ? null : volume ? total / ((toMs - fromMs) / 1000) : total,
      bytes: rs.reduce((a, r) => a + r.bytes * r.sample_rate, 0),
      packets: rs.reduce((a, r) => a + r.packets * r.sample_rate, 0),
      records: rs.length,
    };
  };
  const series = top.map((g) => seriesOf(g.key, false, g.rows));
  if (rest.length > 0)
    series.push(
      seriesOf(
        q.group_by.map(() => null),
        true,
        rest,
      ),
    );
  return { vantage, series, bucketCount: nb };
}
