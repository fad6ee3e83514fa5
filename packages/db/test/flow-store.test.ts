// The flow store's writers against real PostgreSQL: COPY and unnest store identical rows (special
// characters included), and a batch that fails part-way leaves nothing behind, not even its batch id.
import { emptyEndpoint, type FlowRecord, packFlowBatch } from "@kernflow/protocol";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFlowStore, dayPartitionName, type FlowStore, recordColumns } from "../src/index";
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

function store(method: "copy" | "unnest"): FlowStore {
  const s = createFlowStore(db.url, { writeMethod: method });
  stores.push(s);
  return s;
}

async function rowsOf(device: string): Promise<unknown[]> {
  const cols = recordColumns.filter((c) => c !== "device_id" && c !== "plan_id" && c !== "device");
  const { rows } = await pool.query(
    `SELECT ${cols.join(", ")} FROM flows.records WHERE device_id = $1 ORDER BY src_port`,
    [device],
  );
  return rows;
}

describe("flow store writers", () => {
  it("store identical rows with COPY and with unnest, tabs, newlines, backslashes and unicode included", async () => {
    const ts = new Date(Date.now() - 60_000).toISOString();
    const records = Array.from({ length: 25 }, (_, i) => record(i, ts));
    const a = "aaaaaaaa-0000-4000-8000-000000000001";
    const b = "bbbbbbbb-0000-4000-8000-000000000002";
    expect(await store("copy").writeBatch(a, PLAN, packFlowBatch(crypto.randomUUID(), records))).toEqual({
      accepted: 25,
      duplicate: false,
    });
    await store("unnest").writeBatch(b, PLAN, packFlowBatch(crypto.randomUUID(), records));
    const copied = await rowsOf(a);
    expect(copied).toHaveLength(25);
    expect(copied).toEqual(await rowsOf(b));
    const first = copied[0] as Record<string, unknown>;
    expect(first.src_process_cmdline).toBe("sh -c 'echo a\nb\r\tc'");
    expect(first.src_object_labels).toEqual({ app: "démo", "k\tey": "v\\al" });
    expect(first.src_addr).toBe("2001:db8::7");
  });

  it("leaves nothing behind when a batch fails part-way, so its retry is stored in full", async () => {
    const ts = new Date().toISOString();
    const s = store("copy");
    const records = Array.from({ length: 10 }, (_, i) => record(i, ts));
    const warm = "cccccccc-0000-4000-8000-000000000003";
    await s.writeBatch(warm, PLAN, packFlowBatch(crypto.randomUUID(), records.slice(0, 1)));
    // Break the rollup step: its partition for today disappears after the raw rows' partition was made.
    const day = Math.floor(Date.parse(ts) / 86_400_000) * 86_400_000;
    await pool.query(`DROP TABLE flows."${dayPartitionName("rollup_5m", PLAN, day)}"`);
    const batchId = crypto.randomUUID();
    const device = "dddddddd-0000-4000-8000-000000000004";
    await expect(s.writeBatch(device, PLAN, packFlowBatch(batchId, records))).rejects.toThrow(/no partition/);
    expect(await rowsOf(device)).toHaveLength(0);
    const { rows } = await pool.query("SELECT 1 FROM flows.batches WHERE batch_id = $1", [batchId]);
    expect(rows).toHaveLength(0);
    // A fresh store (a restarted console) recreates the missing partition; the retry is stored whole.
    expect(await store("copy").writeBatch(device, PLAN, packFlowBatch(batchId, records))).toEqual({
      accepted: 10,
      duplicate: false,
    });
    expect(await rowsOf(device)).toHaveLength(10);
  });
});
