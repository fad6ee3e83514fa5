// The flow store's writer against real PostgreSQL: records written as narrow binary COPY rows read back
// whole through flows.records_wide (special characters, both address families, µs timestamps, nulls and
// labels included), endpoints are stored once per identity, and a batch that fails part-way leaves nothing
// behind, not even its batch id.
import { emptyEndpoint, type FlowRecord, packFlowBatch } from "@kernflow/protocol";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFlowStore, dayPartitionName, type FlowStore, wideRecordColumns } from "../src/index";
import { createTestDatabase, type TestDatabase } from "../src/testing";

const PLAN = "0f0e0d0c-0b0a-4908-8706-050403020100";

function record(i: number, ts: string): FlowRecord {
  return {
    ts_start: ts,
    ts_end: ts,
    device: "edge\t1",
    vantage: i % 2 === 0 ? "src" : "dst",
    interface: "eth0",
    direction: "egress",
    protocol: 6,
    src_addr: i % 3 === 0 ? "2001:db8::7" : "10.0.0.1",
    dst_addr: "10.0.0.2",
    src_port: 40_000 + i,
    dst_port: 443,
    bytes: 1000 + i,
    packets: 3,
    sample_rate: 1,
    tcp_flags: 0x18,
    retransmits: i % 4,
    rtt_us: i % 5 === 0 ? null : 1200,
    app_latency_ms: i % 2 === 0 ? 1.5 : null,
    src: {
      ...emptyEndpoint(),
      pid: 42,
      process_name: "back\\slash",
      process_cmdline: "sh -c 'echo a\nb\r\tc'",
      object_labels: { app: "démo", "k\tey": "v\\al" },
    },
    dst: { ...emptyEndpoint(), workload_name: "payments", object_type: "service" },
    cluster_id: null,
  };
}

let db: TestDatabase;
let pool: pg.Pool;
const stores: FlowStore[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await pool?.end();
  await db?.cleanup();
});

function store(): FlowStore {
  const s = createFlowStore(db.url);
  stores.push(s);
  return s;
}

async function rowsOf(device: string): Promise<Record<string, unknown>[]> {
  const cols = wideRecordColumns.filter((c) => c !== "device_id" && c !== "plan_id");
  const { rows } = await pool.query(
    `SELECT ${cols.join(", ")}, host(src_addr) AS src_host, host(dst_addr) AS dst_host,
            to_char(ts_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts_start_text,
            to_char(ts_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts_end_text
       FROM flows.records_wide WHERE device_id = $1 ORDER BY src_port`,
    [device],
  );
  return rows;
}

/** A record as read back from the view, for comparing with what was written. */
function asStored(r: FlowRecord): Record<string, unknown> {
  const side = (prefix: string, e: FlowRecord["src"]) =>
    Object.fromEntries(Object.entries(e).map(([k, v]) => [`${prefix}_${k}`, v]));
  const micros = (t: string) => {
    const [whole, fraction = ""] = t.slice(0, -1).split(".");
    return `${whole}.${fraction.padEnd(6, "0").slice(0, 6)}Z`;
  };
  return {
    ts_start_text: micros(r.ts_start),
    ts_end_text: micros(r.ts_end),
    device: r.device,
    vantage: r.vantage,
    interface: r.interface,
    direction: r.direction,
    protocol: r.protocol,
    src_host: r.src_addr,
    dst_host: r.dst_addr,
    src_port: r.src_port,
    dst_port: r.dst_port,
    bytes: String(r.bytes),
    packets: String(r.packets),
    sample_rate: r.sample_rate,
    tcp_flags: r.tcp_flags,
    retransmits: String(r.retransmits),
    rtt_us: r.rtt_us === null ? null : String(r.rtt_us),
    app_latency_ms: r.app_latency_ms,
    ...side("src", r.src),
    ...side("dst", r.dst),
    cluster_id: r.cluster_id,
  };
}

describe("flow store writer", () => {
  it("stores records as narrow binary rows that read back whole through the view", async () => {
    const base = Date.now() - 60_000;
    const records = Array.from({ length: 25 }, (_, i) => {
      const r = record(i, new Date(base + i).toISOString());
      // Microseconds, and a time in another UTC day than the rest (a second day partition).
      if (i === 1) r.ts_end = `${r.ts_start.slice(0, 19)}.123456Z`;
      if (i === 2) r.ts_start = r.ts_end = "2026-11-25T23:59:59.999999Z";
      if (i === 3) r.cluster_id = "prod\n\t";
      if (i === 4) r.dst_addr = "::ffff:10.0.0.9";
      if (i === 5) r.bytes = 2 ** 40 + 7;
      if (i === 6) r.dst = { ...r.dst, pid: null, object_labels: {}, node: "节点-1 🚀" };
      return r;
    });
    const device = "aaaaaaaa-0000-4000-8000-000000000001";
    expect(await store().writeBatch(device, PLAN, packFlowBatch(crypto.randomUUID(), records))).toEqual({
      accepted: 25,
      duplicate: false,
    });
    const stored = await rowsOf(device);
    expect(stored).toHaveLength(25);
    const read = stored.map((row) => {
      const { ts_start: _a, ts_end: _b, src_addr: _c, dst_addr: _d, ...rest } = row;
      return rest;
    });
    expect(read).toEqual(records.map(asStored));
    const first = stored[0] as Record<string, unknown>;
    expect(first.src_process_cmdline).toBe("sh -c 'echo a\nb\r\tc'");
    expect(first.src_object_labels).toEqual({ app: "démo", "k\tey": "v\\al" });
    expect(first.src_host).toBe("2001:db8::7");
    expect(first.device).toBe("edge\t1");
    // A batch over two days goes through the partitioned tables (a one-day batch straight into its day's
    // partitions): the rollups of both days hold their records.
    const { rows: rollup } = await pool.query(
      `SELECT date_trunc('day', minute AT TIME ZONE 'UTC')::date::text AS day, sum(records)::int AS n
         FROM flows.rollup_1m JOIN flows.rollup_dims USING (dims_key)
        WHERE plan_id = $1 AND device = 'edge\t1' GROUP BY 1 ORDER BY 1`,
      [PLAN],
    );
    expect(rollup.map((r) => r.n)).toEqual([1, 24]);
    expect(rollup[0].day).toBe("2026-11-25");
  });

  it("stores an endpoint identity once, however many records and pids refer to it", async () => {
    const ts = new Date().toISOString();
    const records = [record(1, ts), record(2, ts), record(3, ts)];
    (records[1] as FlowRecord).src = { ...(records[1] as FlowRecord).src, pid: 7 };
    (records[2] as FlowRecord).src = { ...(records[2] as FlowRecord).src, pid: null };
    const device = "eeeeeeee-0000-4000-8000-000000000005";
    const s = store();
    await s.writeBatch(device, PLAN, packFlowBatch(crypto.randomUUID(), records));
    // A second batch (and a second store: no in-process memory of the keys) with the same identities.
    await store().writeBatch(device, PLAN, packFlowBatch(crypto.randomUUID(), records));
    const { rows } = await pool.query<{ src_pid: number | null; src_endpoint: string; dst_endpoint: string }>(
      "SELECT src_pid, src_endpoint::text, dst_endpoint::text FROM flows.records WHERE device_id = $1",
      [device],
    );
    expect(rows.map((r) => r.src_pid).sort()).toEqual([42, 42, 7, 7, null, null].sort());
    expect(new Set(rows.map((r) => r.src_endpoint)).size).toBe(1);
    const keys = [rows[0]?.src_endpoint, rows[0]?.dst_endpoint];
    const { rows: endpoints } = await pool.query(
      "SELECT endpoint_key::text FROM flows.endpoints WHERE endpoint_key = ANY($1::uuid[])",
      [keys],
    );
    expect(endpoints).toHaveLength(2);
  });

  it("stores a batch larger than one COPY chunk (1 MiB) whole, with its rollup summing every record", async () => {
    const ts = new Date().toISOString();
    // ~280 bytes per row: 6 000 rows span two chunks; long device names make rows of different sizes.
    const records = Array.from({ length: 6000 }, (_, i) => ({
      ...record(i, ts),
      device: `edge-${"x".repeat(i % 300)}`,
    }));
    const device = "ffffffff-0000-4000-8000-000000000006";
    await store().writeBatch(device, PLAN, packFlowBatch(crypto.randomUUID(), records));
    const { rows } = await pool.query(
      "SELECT count(*)::int AS n, sum(bytes)::float8 AS bytes, sum(length(device))::int AS chars FROM flows.records_wide WHERE device_id = $1",
      [device],
    );
    expect(rows[0]).toEqual({
      n: 6000,
      bytes: records.reduce((a, r) => a + r.bytes, 0),
      chars: records.reduce((a, r) => a + r.device.length, 0),
    });
    const { rows: rollup } = await pool.query(
      `SELECT sum(records)::int AS n FROM flows.rollup_1m JOIN flows.rollup_dims USING (dims_key)
        WHERE device LIKE 'edge-%' AND minute = date_trunc('minute', $1::timestamptz)`,
      [ts],
    );
    expect(rollup[0].n).toBe(6000);
  });

  it('keeps rollup groups apart whose values only print alike (null and "-", a|b and a, b)', async () => {
    const ts = new Date().toISOString();
    const device = "ffffffff-0000-4000-8000-000000000007";
    const records = [null, "-", "-", "1:-"].map((cluster_id) => ({
      ...record(0, ts),
      device: "rollup-keys",
      cluster_id,
    }));
    await store().writeBatch(device, PLAN, packFlowBatch(crypto.randomUUID(), records));
    const { rows } = await pool.query(
      `SELECT cluster_id, sum(records)::int AS n FROM flows.rollup_1m JOIN flows.rollup_dims USING (dims_key)
        WHERE device = 'rollup-keys' GROUP BY cluster_id ORDER BY cluster_id NULLS FIRST`,
    );
    expect(rows).toEqual([
      { cluster_id: null, n: 1 },
      { cluster_id: "-", n: 2 },
      { cluster_id: "1:-", n: 1 },
    ]);
  });

  it("leaves nothing behind when a batch fails part-way, so its retry is stored in full", async () => {
    const ts = new Date().toISOString();
    const s = store();
    const records = Array.from({ length: 10 }, (_, i) => record(i, ts));
    const warm = "cccccccc-0000-4000-8000-000000000003";
    await s.writeBatch(warm, PLAN, packFlowBatch(crypto.randomUUID(), records.slice(0, 1)));
    // Break the rollup step: its partition for today disappears after the raw rows' partition was made.
    const day = Math.floor(Date.parse(ts) / 86_400_000) * 86_400_000;
    await pool.query(`DROP TABLE flows."${dayPartitionName("rollup_5m", PLAN, day)}"`);
    const batchId = crypto.randomUUID();
    const device = "dddddddd-0000-4000-8000-000000000004";
    // (A one-day batch writes its day's partitions directly, so the missing one is named.)
    await expect(s.writeBatch(device, PLAN, packFlowBatch(batchId, records))).rejects.toThrow(
      /rollup_5m_\w+" does not exist/,
    );
    expect(await rowsOf(device)).toHaveLength(0);
    const { rows } = await pool.query("SELECT 1 FROM flows.batches WHERE batch_id = $1", [batchId]);
    expect(rows).toHaveLength(0);
    // A fresh store (a restarted console) recreates the missing partition; the retry is stored whole.
    expect(await store().writeBatch(device, PLAN, packFlowBatch(batchId, records))).toEqual({
      accepted: 10,
      duplicate: false,
    });
    expect(await rowsOf(device)).toHaveLength(10);
  });
});
