// The flow pipeline against real PostgreSQL: a generated day of flows of several devices is ingested over
// HTTP through ingestFlowBatch, then every kind of query is compared with a reference computation in
// TypeScript over the same records; ingest's refusals (bad record, wrong device, rate, size) and retries.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { createFlowStore, type FlowStore, listDayPartitions } from "@kernflow/db";
import { type FlowQueryInput, type FlowRecord, flowQuerySchema, packFlowBatch } from "@kernflow/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestFlowBatch } from "../src/flows/ingest";
import { FlowRateLimiter } from "../src/flows/rate-limit";
import { applyFlowRetention } from "../src/flows/retention";
import { generateDay, type ReferenceSeries, referenceQuery } from "./flows-reference";
import { callerAs, createHarness, type Harness, rest } from "./harness";

const HOUR = 3_600_000;
const DEVICES = ["edge-1", "edge-2", "db-1"];
const PER_DEVICE = 4000;

let h: Harness;
let store: FlowStore;
let server: http.Server;
let baseUrl: string;
let planId: string;
const deviceIds = new Map<string, string>();
let limiter: FlowRateLimiter | undefined;
let clock = Date.now();
// The day of flows ends at the top of the current hour, so it lies inside the plan's retention.
const dayEnd = Math.floor(Date.now() / HOUR) * HOUR;
const dayStart = dayEnd - 24 * HOUR;
const records = generateDay(DEVICES, dayStart, PER_DEVICE, 42);

/** A test agent endpoint: the device is named by a header (the real dispatcher authenticates a credential). */
function startServer(): Promise<void> {
  server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const name = String(req.headers["x-test-device"]);
    const request = new Request(`http://console.test${req.url}`, {
      method: req.method,
      headers: req.headers as Record<string, string>,
      body: Buffer.concat(chunks),
    });
    const device = { id: deviceIds.get(name) as string, name, planId: devicePlan.get(name) ?? planId };
    const response = await ingestFlowBatch(
      { db: h.db, flowStore: store, device, ...(limiter ? { limiter } : {}) },
      request,
    );
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}
const devicePlan = new Map<string, string>();

async function post(device: string, body: unknown, options: { gzip?: boolean; raw?: Buffer } = {}) {
  const json = Buffer.from(JSON.stringify(body));
  const payload = options.raw ?? (options.gzip === false ? json : gzipSync(json));
  const res = await fetch(`${baseUrl}/api/agent/v1/flows`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-test-device": device,
      ...(options.gzip === false ? {} : { "content-encoding": "gzip" }),
    },
    body: payload,
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function countRecords(where = "true", params: unknown[] = []): Promise<number> {
  const { rows } = await pgQuery(`SELECT count(*)::int AS n FROM flows.records WHERE ${where}`, params);
  return (rows[0] as { n: number }).n;
}
let pgQuery: (sql: string, params?: unknown[]) => Promise<{ rows: unknown[] }>;

beforeAll(async () => {
  h = await createHarness();
  store = createFlowStore(h.database.url);
  const pg = (await import("pg")).default;
  const pool = new pg.Pool({ connectionString: h.database.url, max: 1 });
  pgQuery = (sql, params) => pool.query(sql, params);
  const plan = await h.db.plan.create({
    data: { name: "fleet", maxDevices: 10, maxFlowsPerSecond: 1_000_000, retentionDays: 30 },
  });
  planId = plan.id;
  for (const name of DEVICES) {
    const d = await h.db.device.create({ data: { name, planId } });
    deviceIds.set(name, d.id);
  }
  await startServer();
  // Shuffled across devices' batches like real agents: each device ships its own records in batches.
  for (const name of DEVICES) {
    const mine = records.filter((r) => r.device === name);
    for (let i = 0; i < mine.length; i += 1000) {
      const res = await post(name, { batch_id: crypto.randomUUID(), records: mine.slice(i, i + 1000) });
      if (res.status !== 200) throw new Error(`ingest failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
  }
  afterAllCleanups.push(() => pool.end());
}, 120_000);

const afterAllCleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  for (const c of afterAllCleanups) await c();
  await store?.close();
  await h?.cleanup();
});

function expectSeriesClose(actual: ReferenceSeries[], expected: ReferenceSeries[]) {
  expect(actual.map((s) => ({ key: s.key, other: s.other }))).toEqual(
    expected.map((s) => ({ key: s.key, other: s.other })),
  );
  const close = (a: number | null, e: number | null, what: string) => {
    if (e === null || a === null) {
      expect(a, what).toBe(e);
      return;
    }
    expect(Math.abs(a - e), `${what}: ${a} vs ${e}`).toBeLessThanOrEqual(Math.max(1e-6, Math.abs(e) * 1e-9));
  };
  expected.forEach((e, i) => {
    const a = actual[i] as ReferenceSeries;
    expect(a.points.length).toBe(e.points.length);
    e.points.forEach((p, j) => {
      close(a.points[j] ?? null, p, `series ${i} point ${j}`);
    });
    close(a.summary, e.summary, `series ${i} summary`);
    close(a.bytes, e.bytes, `series ${i} bytes`);
    close(a.packets, e.packets, `series ${i} packets`);
    expect(a.records).toBe(e.records);
  });
}

/** Runs the query (absolute range) through the store and the reference; returns the engine's source. */
async function compare(input: Omit<FlowQueryInput, "range">, fromMs = dayStart, toMs = dayEnd) {
  const query = flowQuerySchema.parse({
    ...input,
    range: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
  });
  const result = await store.query(query);
  const expected = referenceQuery(records, { ...query, bucket_seconds: result.bucket_seconds }, fromMs, toMs);
  expect(result.vantage).toBe(expected.vantage);
  expect(result.buckets.length).toBe(expected.bucketCount);
  expectSeriesClose(result.series, expected.series);
  return { result, source: store.planQuery(query).source };
}

describe("flow ingest and query against real PostgreSQL", () => {
  it("stores every record of the generated day", async () => {
    expect(await countRecords()).toBe(DEVICES.length * PER_DEVICE);
    expect(await countRecords("device = $1", ["edge-2"])).toBe(PER_DEVICE);
  });

  it("sums bits/s per device over the day from the rollup, equal to the reference", async () => {
    const { result, source } = await compare({ metric: "bits_per_s", group_by: ["device"] });
    expect(source).toBe("rollup_5m");
    expect(result.series).toHaveLength(3);
    expect(result.bucket_seconds).toBe(1800);
  });

  it("gives identical answers from raw records and from the rollup", async () => {
    const query = flowQuerySchema.parse({
      metric: "packets_per_s",
      group_by: ["src_process_name", "dst_workload_name"],
      filters: [{ dimension: "protocol", op: "eq", value: "6" }],
      top_n: 5,
      bucket_seconds: 3600,
      range: { from: new Date(dayStart).toISOString(), to: new Date(dayEnd).toISOString() },
    });
    const raw = await store.query(query, { source: "raw" });
    expect(store.planQuery(query).source).toBe("rollup_5m");
    expectSeriesClose((await store.query(query)).series, raw.series);
    expectSeriesClose((await store.query(query, { source: "rollup_1m" })).series, raw.series);
    // A one-minute grid can only come from the per-minute tier.
    const minutes = flowQuerySchema.parse({
      ...query,
      bucket_seconds: 60,
      range: {
        from: new Date(dayStart + 3 * HOUR + 60_000).toISOString(),
        to: new Date(dayStart + 4 * HOUR).toISOString(),
      },
    });
    expect(store.planQuery(minutes).source).toBe("rollup_1m");
    expectSeriesClose(
      (await store.query(minutes)).series,
      (await store.query(minutes, { source: "raw" })).series,
    );
    expect(raw.series.some((s) => s.other)).toBe(true);
  });

  it("keeps the top N groups and sums the rest into other", async () => {
    const { result } = await compare({ metric: "bits_per_s", group_by: ["src_addr", "dst_port"], top_n: 4 });
    expect(result.series).toHaveLength(5);
    expect(result.series[4]?.other).toBe(true);
  });

  it("counts each conversation once by vantage: src by default, dst or all on request", async () => {
    const src = await compare({ metric: "bits_per_s" });
    const dst = await compare({ metric: "bits_per_s", vantage: "dst" });
    const all = await compare({ metric: "bits_per_s", vantage: "all" });
    expect(src.result.vantage).toBe("src");
    expect((all.result.series[0]?.bytes ?? 0) - (src.result.series[0]?.bytes ?? 0)).toBeCloseTo(
      dst.result.series[0]?.bytes ?? -1,
    );
  });

  it("filters by CIDR (IPv4 and IPv6), prefix, equality and inequality", async () => {
    const cidr4 = await compare({
      metric: "bits_per_s",
      group_by: ["dst_addr"],
      filters: [{ dimension: "src_addr", op: "cidr", value: "10.0.0.0/23" }],
    });
    expect(cidr4.source).toBe("raw");
    expect(cidr4.result.series.length).toBeGreaterThan(0);
    await compare({
      metric: "packets_per_s",
      group_by: ["src_addr"],
      filters: [{ dimension: "dst_addr", op: "cidr", value: "2001:db8::/48" }],
    });
    await compare({
      metric: "bits_per_s",
      group_by: ["src_process_name"],
      filters: [
        { dimension: "dst_workload_name", op: "prefix", value: "pay" },
        { dimension: "src_process_name", op: "neq", value: "nginx" },
      ],
    });
    await compare({
      metric: "retransmits_per_s",
      group_by: ["dst_port"],
      filters: [{ dimension: "device", op: "eq", value: "db-1" }],
    });
  });

  it("summarises application latency and RTT with avg, p50, p95, p99 and max over records", async () => {
    for (const aggregate of ["avg", "p50", "p95", "p99", "max"] as const) {
      const { result, source } = await compare({
        metric: "app_latency_ms",
        aggregate,
        group_by: ["dst_process_name"],
        top_n: 3,
        bucket_seconds: 7200,
      });
      expect(result.vantage).toBe("all");
      expect(source).toBe("raw");
    }
    await compare({ metric: "rtt_ms", aggregate: "p95", group_by: ["device", "dst_port"], top_n: 6 });
  });

  it("answers a range that is not minute-aligned from raw records, with a short last bucket", async () => {
    const from = dayStart + 7 * HOUR + 12_345;
    const { result, source } = await compare(
      { metric: "bits_per_s", group_by: ["interface"], bucket_seconds: 600 },
      from,
      from + 2 * HOUR + 30_000,
    );
    expect(source).toBe("raw");
    expect(result.buckets).toHaveLength(13);
  });

  it("serves flows.query over REST and flows.dimensions over tRPC to members", async () => {
    const res = await rest(h, "POST", "/flows/query", {
      token: h.users.member.token,
      body: {
        metric: "bits_per_s",
        group_by: ["device"],
        range: { from: new Date(dayStart).toISOString(), to: new Date(dayEnd).toISOString() },
      },
    });
    // The harness's deps have no flow store; REST must then fail loudly, not answer empty.
    expect(res.status).toBe(500);
    const withStore = { ...h, deps: { ...h.deps, flowStore: store } };
    const ok = await rest(withStore, "POST", "/flows/query", {
      token: h.users.member.token,
      body: {
        metric: "bits_per_s",
        group_by: ["device"],
        range: { from: new Date(dayStart).toISOString(), to: new Date(dayEnd).toISOString() },
      },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.series.map((s: { key: string[] }) => s.key[0]).sort()).toEqual([...DEVICES].sort());
    const bad = await rest(withStore, "POST", "/flows/query", {
      token: h.users.member.token,
      body: {
        metric: "bits_per_s",
        filters: [{ dimension: "dst_port", op: "eq", value: "https" }],
        range: { last_seconds: 3600 },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("value must be an integer");
    const caller = await callerAs(withStore, h.users.member);
    const dims = await caller.flows.dimensions();
    expect(dims.dimensions.find((d) => d.id === "src_process_name")?.label).toBe("Source Process Name");
    const openapi = await rest(h, "GET", "/openapi.json");
    expect(Object.keys(openapi.body.paths)).toContain("/api/v1/flows/query");
  });
});

function batchOf(device: string, n: number, seed: number): FlowRecord[] {
  return generateDay([device], dayEnd - 2 * HOUR, n, seed).map((r) => ({
    ...r,
    ts_start: new Date(dayEnd + (Date.parse(r.ts_start) % HOUR) / 100).toISOString(),
    ts_end: new Date(dayEnd + (Date.parse(r.ts_start) % HOUR) / 100 + 1).toISOString(),
  }));
}

describe("flow ingest refusals and retries", () => {
  it("rejects a batch with one bad record whole, naming the record and the reason", async () => {
    const before = await countRecords();
    const batch = batchOf("edge-1", 50, 7) as unknown as Record<string, unknown>[];
    batch[17] = { ...batch[17], bytes: -5 };
    const res = await post("edge-1", { batch_id: crypto.randomUUID(), records: batch });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain("record 17: bytes");
    expect(await countRecords()).toBe(before);
  });

  it("refuses records of another device", async () => {
    const before = await countRecords();
    const res = await post("edge-1", { batch_id: crypto.randomUUID(), records: batchOf("db-1", 3, 8) });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('record 0: device is \\"db-1\\"');
    expect(await countRecords()).toBe(before);
  });

  it("refuses a packed batch naming its first record of another device, or outside the plan's 30 days", async () => {
    const before = await countRecords();
    const mine = batchOf("edge-1", 5, 13);
    const other = { ...(batchOf("db-1", 1, 14)[0] as FlowRecord) };
    const mixed = packFlowBatch(crypto.randomUUID(), [...mine.slice(0, 3), other, ...mine.slice(3)]);
    const refused = await post("edge-1", mixed);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('record 3: device is \\"db-1\\" but the credential is');
    const at = (ms: number): Partial<FlowRecord> => {
      const t = new Date(ms).toISOString();
      return { ts_start: t, ts_end: t };
    };
    const future = mine.map((r, i) => (i === 2 ? { ...r, ...at(Date.now() + HOUR) } : r));
    const res = await post("edge-1", packFlowBatch(crypto.randomUUID(), future));
    expect([res.status, JSON.stringify(res.body)]).toEqual([
      400,
      expect.stringContaining("record 2: ts_start is in the future"),
    ]);
    const expired = mine.map((r, i) => (i === 1 ? { ...r, ...at(Date.now() - 31 * 86_400_000) } : r));
    const old = await post("edge-1", packFlowBatch(crypto.randomUUID(), expired));
    expect([old.status, JSON.stringify(old.body)]).toEqual([
      400,
      expect.stringContaining("record 1: ts_start is older than the plan's 30-day retention"),
    ]);
    expect(await countRecords()).toBe(before);
  });

  it("stores a retried batch once and says it was a duplicate", async () => {
    const before = await countRecords();
    const batch = { batch_id: crypto.randomUUID(), records: batchOf("edge-2", 120, 9) };
    const first = await post("edge-2", batch);
    const [second, third] = await Promise.all([
      post("edge-2", batch),
      post("edge-2", batch, { gzip: false }),
    ]);
    expect(first.body).toEqual({ accepted: 120, duplicate: false });
    expect(second.body).toEqual({ accepted: 120, duplicate: true });
    expect(third.body).toEqual({ accepted: 120, duplicate: true });
    expect(await countRecords()).toBe(before + 120);
  });

  it("answers 429 with Retry-After beyond the plan's flows per second, writes nothing, and accepts later", async () => {
    const slow = await h.db.plan.create({
      data: { name: "slow", maxFlowsPerSecond: 10, maxDevices: 1, retentionDays: 7 },
    });
    const d = await h.db.device.create({ data: { name: "slow-1", planId: slow.id } });
    deviceIds.set("slow-1", d.id);
    devicePlan.set("slow-1", slow.id);
    limiter = new FlowRateLimiter(h.db, 30, () => clock);
    // Burst of 30 s at 10/s = 300 records.
    expect(
      (await post("slow-1", { batch_id: crypto.randomUUID(), records: batchOf("slow-1", 300, 10) })).status,
    ).toBe(200);
    const refused = await post("slow-1", {
      batch_id: crypto.randomUUID(),
      records: batchOf("slow-1", 50, 11),
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(await countRecords("plan_id = $1", [slow.id])).toBe(300);
    clock += 5000;
    const later = await post("slow-1", { batch_id: crypto.randomUUID(), records: batchOf("slow-1", 50, 11) });
    expect(later.status).toBe(200);
    expect(await countRecords("plan_id = $1", [slow.id])).toBe(350);
  });

  it("refuses a gzip bomb by its decompressed size (413) and a non-gzip body sent as gzip (400)", async () => {
    // 170 gzip members of 1 MiB of spaces each: a few hundred KiB on the wire, 170 MiB inflated.
    const member = gzipSync(Buffer.alloc(1024 * 1024, 32));
    const bomb = Buffer.concat(Array.from({ length: 170 }, () => member));
    const res = await post("edge-1", null, { raw: bomb });
    expect(res.status).toBe(413);
    const garbage = await post("edge-1", null, { raw: Buffer.from("not gzip") });
    expect(garbage.status).toBe(400);
  });
});

describe("retention", () => {
  it("drops a plan's day partitions older than its retention and keeps the rest (asserted by catalog)", async () => {
    const now = Date.now();
    const old = (days: number) => new Date(now - days * 86_400_000).toISOString();
    const longPlan = await h.db.plan.create({
      data: { name: "long", maxFlowsPerSecond: 1000, maxDevices: 1, retentionDays: 90 },
    });
    const oldRecord = (ts: string): FlowRecord => ({
      ...(batchOf("edge-1", 1, 12)[0] as FlowRecord),
      ts_start: ts,
      ts_end: ts,
    });
    // Written straight to the store: ingest itself refuses records older than the plan's retention.
    await store.writeBatch(
      deviceIds.get("edge-1") as string,
      planId,
      packFlowBatch(crypto.randomUUID(), [oldRecord(old(40))]),
    );
    await store.writeBatch(
      deviceIds.get("edge-1") as string,
      longPlan.id,
      packFlowBatch(crypto.randomUUID(), [oldRecord(old(40))]),
    );
    const day40 = Math.floor((now - 40 * 86_400_000) / 86_400_000) * 86_400_000;
    const before = await listDayPartitions(await poolFor());
    expect(
      before
        .filter((p) => p.dayStartMs === day40)
        .map((p) => `${p.table} ${p.planId}`)
        .sort(),
    ).toEqual(
      // Raw records and both rollup tiers, per plan.
      [planId, longPlan.id]
        .flatMap((id) => ["records", "rollup_1m", "rollup_5m"].map((t) => `${t} ${id}`))
        .sort(),
    );
    // Every plan's own retention, read from the plans (fleet 30 days, long 90 days).
    const result = await applyFlowRetention(h.db, store);
    expect(result.dropped.length).toBeGreaterThanOrEqual(3);
    const { rows } = await pgQuery(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'flows'`,
    );
    const names = (rows as { relname: string }[]).map((r) => r.relname);
    const tag = (p: string) => p.replaceAll("-", "");
    const day = new Date(day40).toISOString().slice(0, 10).replaceAll("-", "");
    expect(names).not.toContain(`records_${tag(planId)}_${day}`);
    expect(names).not.toContain(`rollup_1m_${tag(planId)}_${day}`);
    expect(names).not.toContain(`rollup_5m_${tag(planId)}_${day}`);
    expect(names).toContain(`records_${tag(longPlan.id)}_${day}`);
    // Today's partition of the short plan is still there, with its rows.
    expect(await countRecords("plan_id = $1", [planId])).toBeGreaterThanOrEqual(DEVICES.length * PER_DEVICE);
  });
});

async function poolFor() {
  const pg = (await import("pg")).default;
  const pool = new pg.Pool({ connectionString: h.database.url, max: 1 });
  afterAllCleanups.push(() => pool.end());
  return pool;
}
