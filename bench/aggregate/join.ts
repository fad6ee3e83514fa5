/**
 * How many records per second does the aggregator join on one core, and does its memory stay bounded
 * by the join window over a long run? Feeds the real FlowJoiner (with Kubernetes enrichment from a
 * KubeMetadata of `--pods` pods, as the aggregator's emit does) a stream shaped like many nodes'
 * batches: for every conversation direction a source-side record from one node and, `--lag` records
 * later, the destination-side record from another; `--unpaired` percent have no partner and leave when
 * their window passes. Time is simulated at `--rate` records per second of arrival, so the window holds
 * rate × window records whatever speed the machine joins at; records are made in chunks outside the
 * timed part, then handed to the joiner as the HTTP handler would.
 *
 *   npm run bench:aggregate -w @kernflow/bench -- [--records 20000000] [--window 2s] [--rate 200000]
 *     [--max-entries 1000000] [--json FILE]
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { FlowJoiner, KubeMetadata } from "@kernflow/agent";
import { emptyEndpoint, type FlowRecord } from "@kernflow/protocol";
import { z } from "zod";

const flagsSchema = z.object({
  records: z.coerce.number().int().min(100_000).max(1_000_000_000),
  window: z.string().regex(/^\d+(ms|s)$/, "--window like 500ms or 2s"),
  rate: z.coerce.number().int().min(1_000),
  "max-entries": z.coerce.number().int().min(1_000),
  lag: z.coerce.number().int().min(0),
  unpaired: z.coerce.number().min(0).max(100),
  pods: z.coerce.number().int().min(0),
  json: z.string().min(1).optional(),
});

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "20000000" },
    window: { type: "string", default: "2s" },
    rate: { type: "string", default: "200000" },
    "max-entries": { type: "string", default: "1000000" },
    lag: { type: "string", default: "5000" },
    unpaired: { type: "string", default: "10" },
    pods: { type: "string", default: "10000" },
    json: { type: "string" },
  },
});
const parsed = flagsSchema.safeParse(values);
if (!parsed.success) {
  process.stderr.write(`${parsed.error.issues.map((i) => i.message).join("; ")}\n`);
  process.exit(2);
}
const flags = parsed.data;
const windowMs = flags.window.endsWith("ms")
  ? Number.parseInt(flags.window, 10)
  : Number.parseInt(flags.window, 10) * 1000;

const podIp = (i: number) => `10.${64 + ((i >> 16) & 0x3f)}.${(i >> 8) & 0xff}.${i & 0xff}`;
const kube = new KubeMetadata();
kube.replace({
  epoch: "bench",
  version: 1,
  ips: Array.from({ length: flags.pods }, (_, i) => ({
    ip: podIp(i),
    kind: "pod" as const,
    name: `pod-${i}`,
    namespace: `ns-${i % 50}`,
    node: `node-${i % 100}`,
    labels: { app: `app-${i % 500}`, tier: "web" },
    workload: { kind: "Deployment", name: `app-${i % 500}`, namespace: `ns-${i % 50}` },
  })),
  containers: [],
});

let simulatedMs = 0;
let emitted = 0;
let joinedWithProcess = 0;
const joiner = new FlowJoiner(
  { windowMs, maxEntries: flags["max-entries"], slackMs: 2_000, now: () => simulatedMs },
  (record) => {
    record.cluster_id = "bench";
    kube.enrichRecord(record);
    emitted++;
    if (record.src.pid !== null && record.dst.pid !== null) joinedWithProcess++;
  },
);

const baseMs = Date.parse("2026-01-01T00:00:00Z");
/** Record `n` of the stream: conversation n>>1, its source side when even, destination side when odd. */
function makeRecord(conversation: number, vantage: "src" | "dst", tsMs: number): FlowRecord {
  const src = emptyEndpoint();
  const dst = emptyEndpoint();
  const pidBase = conversation % 30_000;
  if (vantage === "src")
    Object.assign(src, { pid: 1000 + pidBase, process_name: "client", container_id: null });
  else Object.assign(dst, { pid: 40_000 + pidBase, process_name: "server", container_id: null });
  const ts = new Date(tsMs).toISOString();
  return {
    ts_start: ts,
    ts_end: ts,
    device: vantage === "src" ? `node-${conversation % 100}` : `node-${(conversation + 1) % 100}`,
    vantage,
    interface: "eth0",
    direction: vantage === "src" ? "egress" : "ingress",
    protocol: 6,
    src_addr: podIp(conversation % Math.max(1, flags.pods)),
    dst_addr: podIp((conversation * 7 + 13) % Math.max(1, flags.pods)),
    src_port: 10_000 + (conversation % 50_000),
    dst_port: 80 + (conversation % 7),
    bytes: 1500,
    packets: 3,
    sample_rate: 1,
    tcp_flags: 0x18,
    retransmits: 0,
    rtt_us: 250,
    app_latency_ms: null,
    src,
    dst,
    cluster_id: null,
  };
}

/** The stream as chunks: source sides in order, each destination side `lag` positions later. */
const chunkSize = 100_000;
let nextConversation = 0;
const delayed: FlowRecord[] = [];
function makeChunk(): FlowRecord[] {
  const out: FlowRecord[] = [];
  while (out.length < chunkSize) {
    const c = nextConversation++;
    const tsMs = baseMs + Math.floor((c * 2 * 1000) / flags.rate);
    out.push(makeRecord(c, "src", tsMs));
    if ((c * 2654435761) % 100 >= flags.unpaired) delayed.push(makeRecord(c, "dst", tsMs));
    if (delayed.length > flags.lag) out.push(delayed.shift() as FlowRecord);
  }
  return out;
}

const rssSamples: { records: number; rss_mb: number; held: number }[] = [];
let fed = 0;
let joinNs = 0n;
let joinCpuUs = 0;
const started = process.hrtime.bigint();
while (fed < flags.records) {
  const chunk = makeChunk();
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < chunk.length; i++) {
    joiner.add(chunk[i] as FlowRecord, { sender: i & 7, id: "b" });
    fed++;
    if ((fed & 1023) === 0) {
      simulatedMs = Math.floor((fed * 1000) / flags.rate);
      joiner.expire();
    }
  }
  joinNs += process.hrtime.bigint() - t0;
  const cpu = process.cpuUsage(cpu0);
  joinCpuUs += cpu.user + cpu.system;
  if (fed % 1_000_000 < chunkSize) {
    const m = joiner.metrics();
    rssSamples.push({ records: fed, rss_mb: Math.round(process.memoryUsage.rss() / 2 ** 20), held: m.held });
  }
}
joiner.flushAll();
const wallS = Number(process.hrtime.bigint() - started) / 1e9;
const joinS = Number(joinNs) / 1e9;
const metrics = joiner.metrics();
const secondHalf = rssSamples.slice(Math.floor(rssSamples.length / 2));
const result = {
  records: fed,
  window_ms: windowMs,
  arrival_rate: flags.rate,
  max_entries: flags["max-entries"],
  join_seconds: Number(joinS.toFixed(3)),
  records_per_second: Math.round(fed / joinS),
  // The machine is shared: CPU time (this process, GC threads included) says what one core sustains.
  join_cpu_seconds: Number((joinCpuUs / 1e6).toFixed(3)),
  records_per_cpu_second: Math.round(fed / (joinCpuUs / 1e6)),
  wall_seconds_including_record_making: Number(wallS.toFixed(3)),
  joined: metrics.joined,
  unjoined: metrics.unjoined,
  evicted: metrics.evicted,
  forwarded: emitted,
  forwarded_with_both_processes: joinedWithProcess,
  rss_mb_first: rssSamples[0]?.rss_mb,
  rss_mb_max: Math.max(...rssSamples.map((s) => s.rss_mb)),
  rss_mb_second_half_min: Math.min(...secondHalf.map((s) => s.rss_mb)),
  rss_mb_second_half_max: Math.max(...secondHalf.map((s) => s.rss_mb)),
  held_max: Math.max(...rssSamples.map((s) => s.held)),
  rss_samples: rssSamples,
};
const { rss_samples, ...summary } = result;
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
if (flags.json !== undefined) writeFileSync(flags.json, `${JSON.stringify(result, null, 2)}\n`);
if (emitted !== fed) {
  process.stderr.write(`lost records: fed ${fed}, forwarded ${emitted}\n`);
  process.exit(1);
}
