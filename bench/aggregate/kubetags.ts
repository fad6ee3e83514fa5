/**
 * Does kubetags hold a 50k-pod cluster in under 300 MiB, and apply a watch event in under 10 ms?
 * The stand-in API server (apps/agent/test/support/kube-api-standin.ts, real HTTP list/watch) serves
 * `--pods` realistic pods (full specs and statuses, ~2 containers each) owned by Deployments through
 * ReplicaSets, plus services and nodes; the real CLI (`kernflow-agent kubetags`) runs as a child process
 * and syncs from it. Then `--events` pod updates (relabels and IP changes) are applied one at a time.
 *
 * Figures: sync time; the child's RSS after sync (VmRSS) and its peak (VmHWM) from /proc; the time to
 * apply one watch event inside kubetags (parse + cache + maps, from its /metrics, p50/p99 over the last
 * 4096), and end to end (stand-in write → visible to a `/v1/changes` long-poll, which adds the HTTP hops).
 *
 * RSS is read `--settle` seconds after sync: V8 returns the list pages' garbage to the system only once
 * allocation has been quiet for a while (its memory reducer), which is the state kubetags lives in.
 *
 *   npm run bench:kubetags -w @kernflow/bench -- [--pods 50000] [--events 2000] [--settle 15] [--resync 0s] [--json FILE]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  kubeChangesSchema,
  kubetagsHealthSchema,
  kubetagsMetricsSchema,
  kubetagsPaths,
} from "@kernflow/protocol";
import { z } from "zod";
import { KubeApiStandin } from "../../apps/agent/test/support/kube-api-standin";
import {
  type KubeObject,
  node,
  pod,
  service,
  workload,
} from "../../apps/agent/test/support/kube-api-standin-objects";

const flagsSchema = z.object({
  pods: z.coerce.number().int().min(100).max(500_000),
  events: z.coerce.number().int().min(10).max(100_000),
  settle: z.coerce.number().int().min(0).max(600),
  resync: z.string().regex(/^\d+[smh]?$/),
  entry: z.string().min(1).optional(),
  "node-flags": z.string(),
  json: z.string().min(1).optional(),
  "heap-snapshots": z.string().min(1).optional(),
});
const { values } = parseArgs({
  options: {
    pods: { type: "string", default: "50000" },
    events: { type: "string", default: "2000" },
    settle: { type: "string", default: "15" },
    // kubetags' --resync (relist everything this often; the CLI's default is 10m). 0s keeps the figures
    // to the first sync; with e.g. 20s and a longer --settle, RSS is read after relists too.
    resync: { type: "string", default: "0s" },
    // Another entry point than bin/kernflow-agent.js (which compiles the TypeScript with tsx at start),
    // e.g. the agent bundled to plain JavaScript with esbuild, to tell the loader's memory from kubetags'.
    entry: { type: "string" },
    // V8/Node flags for the kubetags process (space-separated), e.g. --optimize-for-size.
    "node-flags": { type: "string", default: "" },
    json: { type: "string" },
    // Writes a V8 heap snapshot of kubetags into DIR after sync and after the events (taken after the
    // RSS readings, since writing one costs memory), to see what holds the heap.
    "heap-snapshots": { type: "string" },
  },
});
const flags = flagsSchema.parse(values);

const rssTargetBytes = 300 * 1024 * 1024; // 300 MiB
const applyTargetMs = 10;
const podsPerNode = 100;
const podsPerDeployment = 10;

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, "..", "..", "apps", "agent", "bin", "kernflow-agent.js");

function ipOf(i: number): string {
  return `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

function* cluster(pods: number): Generator<KubeObject> {
  const nodes = Math.ceil(pods / podsPerNode);
  for (let n = 0; n < nodes; n++) yield node(`node-${n}`, `10.0.${n >> 8}.${n & 255}`);
  const deployments = Math.ceil(pods / podsPerDeployment);
  for (let d = 0; d < deployments; d++) {
    const ns = `team-${d % 50}`;
    yield workload("Deployment", `svc-${d}`, ns);
    yield workload("ReplicaSet", `svc-${d}-5f7b8c9d4`, ns, { kind: "Deployment", name: `svc-${d}` });
    yield service(`svc-${d}`, ns, [`10.96.${d >> 8}.${d & 255}`]);
  }
  for (let i = 0; i < pods; i++) yield benchPod(i, ipOf(i), "v1");
}

function benchPod(i: number, ip: string, version: string): KubeObject {
  const d = Math.floor(i / podsPerDeployment);
  return pod({
    name: `svc-${d}-5f7b8c9d4-${i.toString(36).padStart(5, "0")}`,
    namespace: `team-${d % 50}`,
    node: `node-${Math.floor(i / podsPerNode)}`,
    ips: [ip],
    labels: {
      app: `svc-${d}`,
      "pod-template-hash": "5f7b8c9d4",
      "app.kubernetes.io/part-of": `product-${d % 20}`,
      version,
    },
    owner: { kind: "ReplicaSet", name: `svc-${d}-5f7b8c9d4` },
    containers: ["app", "istio-proxy"],
  });
}

function procStatus(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]) * 1024;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Signals the child to write a heap snapshot and waits until the file is complete (its size stops growing). */
async function heapSnapshot(pid: number, dir: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, "SIGUSR2");
  let last = -1;
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const file = readdirSync(dir).find((f) => f.endsWith(".heapsnapshot") && !before.has(f));
    if (file === undefined) continue;
    const size = statSync(join(dir, file)).size;
    if (size > 0 && size === last) {
      console.log(`heap snapshot: ${join(dir, file)}`);
      return;
    }
    last = size;
  }
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
  const standin = await KubeApiStandin.start();
  const dir = mkdtempSync(join(tmpdir(), "bench-kubetags-"));
  const built = performance.now();
  standin.preload(cluster(flags.pods));
  console.log(`stand-in: ${flags.pods} pods loaded in ${((performance.now() - built) / 1000).toFixed(1)} s`);

  const snapshotDir = flags["heap-snapshots"];
  const nodeFlags = flags["node-flags"].split(/\s+/).filter((f) => f !== "");
  if (snapshotDir !== undefined)
    nodeFlags.push(`--diagnostic-dir=${snapshotDir}`, "--heapsnapshot-signal=SIGUSR2");
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      flags.entry ?? bin,
      "kubetags",
      "--listen",
      "127.0.0.1:0",
      "--kubeconfig",
      standin.writeKubeconfig(dir),
      "--resync",
      flags.resync,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  try {
    let stderr = "";
    const port = await new Promise<number>((resolve, reject) => {
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        const m = /listening on [^\s]+:(\d+)/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      child.on("exit", (code) => reject(new Error(`kubetags exited ${code}: ${stderr}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const syncStarted = performance.now();
    for (;;) {
      const res = await fetch(base + kubetagsPaths.health);
      const health = kubetagsHealthSchema.parse(await res.json());
      if (health.ok) break;
      if (health.informers.some((i) => i.failing))
        throw new Error(`kubetags failing: ${JSON.stringify(health)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const syncSeconds = (performance.now() - syncStarted) / 1000;
    const pid = child.pid as number;
    const rssAtSync = procStatus(pid, "VmRSS");
    // Let the list pages' garbage go before reading the resident size it keeps.
    await new Promise((r) => setTimeout(r, flags.settle * 1000));
    const rssAfterSync = procStatus(pid, "VmRSS");
    const peakDuringSync = procStatus(pid, "VmHWM");
    const counts = kubetagsMetricsSchema.parse(await (await fetch(base + kubetagsPaths.metrics)).json());
    if (snapshotDir !== undefined) await heapSnapshot(pid, snapshotDir);
    console.log(
      `sync: ${syncSeconds.toFixed(1)} s, ${counts.ips} IPs, ${counts.containers} containers; RSS ${mb(rssAtSync)} MiB ` +
        `at sync, ${mb(rssAfterSync)} MiB ${flags.settle} s later (peak ${mb(peakDuringSync)} MiB, JS heap in use ${mb(counts.heap_used_bytes)} MiB)`,
    );

    // One event at a time, each awaited through a changes long-poll: end-to-end latency per event.
    const snapshot = (await (await fetch(base + kubetagsPaths.snapshot)).json()) as {
      epoch: string;
      version: number;
    };
    let version = snapshot.version;
    const endToEnd: number[] = [];
    for (let e = 0; e < flags.events; e++) {
      const i = (e * 7919) % flags.pods;
      // Alternate a relabel and an IP change (a pod replaced at the same name).
      const changed =
        e % 2 === 0 ? benchPod(i, ipOf(i), `v${e}`) : benchPod(i, ipOf(flags.pods + e), `v${e}`);
      const changesSince = (since: number) =>
        fetch(`${base}${kubetagsPaths.changes}?epoch=${snapshot.epoch}&since=${since}&wait_ms=10000`);
      let poll = changesSince(version);
      const t0 = performance.now();
      standin.apply(changed);
      // With --resync, an event that lands during a relist is seen when the watch after it replays it:
      // poll on (an aggregator would) and count that wait in the end-to-end time.
      for (;;) {
        const changes = kubeChangesSchema.parse(await (await poll).json());
        version = changes.version;
        if (changes.ips.upserted.some((entry) => entry.labels.version === `v${e}`)) break;
        if (performance.now() - t0 > 60_000)
          throw new Error(`event ${e} not visible after 60 s: ${JSON.stringify(changes)}`);
        poll = changesSince(version);
      }
      endToEnd.push(performance.now() - t0);
    }
    endToEnd.sort((a, b) => a - b);
    const metrics = kubetagsMetricsSchema.parse(await (await fetch(base + kubetagsPaths.metrics)).json());
    const podApply = metrics.apply.pods ?? { events: 0, p50_ms: 0, p99_ms: 0, max_ms: 0 };
    const rssAfterEvents = procStatus(pid, "VmRSS");
    if (snapshotDir !== undefined) await heapSnapshot(pid, snapshotDir);
    const result = {
      pods: flags.pods,
      events: flags.events,
      sync_seconds: syncSeconds,
      rss_at_sync_bytes: rssAtSync,
      rss_after_sync_bytes: rssAfterSync,
      heap_used_after_sync_bytes: counts.heap_used_bytes,
      rss_peak_bytes: peakDuringSync,
      rss_after_events_bytes: rssAfterEvents,
      apply_p50_ms: podApply.p50_ms,
      apply_p99_ms: podApply.p99_ms,
      apply_max_ms: podApply.max_ms,
      end_to_end_p50_ms: percentile(endToEnd, 0.5),
      end_to_end_p99_ms: percentile(endToEnd, 0.99),
      rss_ratio_to_target: rssAfterSync / rssTargetBytes,
      apply_p99_ratio_to_target: podApply.p99_ms / applyTargetMs,
      end_to_end_p99_ratio_to_target: percentile(endToEnd, 0.99) / applyTargetMs,
    };
    console.log(
      [
        `RSS after sync   ${mb(rssAfterSync)} MiB  (target < 300 MiB: ${result.rss_ratio_to_target.toFixed(2)}x of target; peak ${mb(peakDuringSync)} MiB, after events ${mb(rssAfterEvents)} MiB)`,
        `apply one event  p50 ${podApply.p50_ms.toFixed(3)} ms  p99 ${podApply.p99_ms.toFixed(3)} ms  max ${podApply.max_ms.toFixed(3)} ms  (target < 10 ms: p99 at ${result.apply_p99_ratio_to_target.toFixed(3)}x)`,
        `end to end       p50 ${result.end_to_end_p50_ms.toFixed(2)} ms  p99 ${result.end_to_end_p99_ms.toFixed(2)} ms  (stand-in write → changes long-poll answered; p99 at ${result.end_to_end_p99_ratio_to_target.toFixed(2)}x of 10 ms)`,
      ].join("\n"),
    );
    if (flags.json) writeFileSync(flags.json, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await standin.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
