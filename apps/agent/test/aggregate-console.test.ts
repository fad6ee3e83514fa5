// The aggregator in front of the real console: its agent-protocol handler (credential check, "records are the
// device's own" check, idempotent store) on PostgreSQL. Test-only imports of @kernflow/api and @kernflow/db:
// the agent itself never depends on them.
import { createHash, randomUUID } from "node:crypto";
import { handleAgentRequest, listenFetch } from "@kernflow/api";
import { createFlowStore, type FlowStore } from "@kernflow/db";
import { createTestDatabase } from "@kernflow/db/testing";
import { emptyEndpoint, type FlowRecord } from "@kernflow/protocol";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AggregateMetrics } from "../src/roles/aggregate";
import { sampleRecord } from "../src/sinks/fixtures.test-support";
import { postBatch, startAggregator } from "./aggregate-support";

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;
let database: TestDatabase;
let store: FlowStore;
let pool: pg.Pool;
let console: { url: string; close(): Promise<void> };
const creds = { a: `kfa_${randomUUID()}${randomUUID()}`, b: `kfa_${randomUUID()}${randomUUID()}` };
const names = { a: `agg-node-a-${randomUUID().slice(0, 6)}`, b: `agg-node-b-${randomUUID().slice(0, 6)}` };

beforeAll(async () => {
  database = await createTestDatabase();
  store = createFlowStore(database.url);
  pool = new pg.Pool({ connectionString: database.url, max: 1 });
  const plan = await database.prisma.plan.create({
    data: { name: "agg", maxDevices: 10, maxFlowsPerSecond: 1_000_000, retentionDays: 7 },
  });
  for (const side of ["a", "b"] as const) {
    await database.prisma.device.create({
      data: {
        name: names[side],
        planId: plan.id,
        credentialHash: createHash("sha256").update(creds[side]).digest("hex"),
      },
    });
  }
  console = await listenFetch((request) =>
    handleAgentRequest(request, { db: database.prisma, flowStore: store }),
  );
}, 120_000);

afterAll(async () => {
  await console?.close();
  await pool?.end();
  await store?.close();
  await database?.cleanup();
});

function record(side: "a" | "b"): FlowRecord {
  const now = Date.now();
  const src = emptyEndpoint();
  const dst = emptyEndpoint();
  if (side === "a") Object.assign(src, { pid: 7, process_name: "frontend" });
  else Object.assign(dst, { pid: 9, process_name: "backend" });
  return sampleRecord({
    ts_start: new Date(now - 2_000).toISOString(),
    ts_end: new Date(now - 1_000).toISOString(),
    device: names[side],
    vantage: side === "a" ? "src" : "dst",
    direction: side === "a" ? "egress" : "ingress",
    src_addr: "10.44.0.1",
    dst_addr: "10.44.0.2",
    src_port: 50_000,
    dst_port: 8080,
    bytes: 4_000,
    packets: 4,
    rtt_us: 150,
    src,
    dst,
  });
}

describe("aggregate -> the real console", () => {
  it("stores both joined records, each under its own device, and drops a record a credential does not own", async () => {
    const agg = await startAggregator({
      serverUrl: console.url,
      clusterId: "c1",
      joinWindowMs: 5_000,
      maxEntries: 1_000,
    });
    const url = agg.url;
    try {
      expect((await postBatch(url, creds.a, { batch_id: randomUUID(), records: [record("a")] })).status).toBe(
        200,
      );
      expect((await postBatch(url, creds.b, { batch_id: randomUUID(), records: [record("b")] })).status).toBe(
        200,
      );
      // Node A's credential sending node B's record: the console refuses it (not its device); the
      // aggregator counts it dropped instead of re-attributing it.
      await postBatch(url, creds.a, { batch_id: randomUUID(), records: [{ ...record("b"), src_port: 1 }] });
      const rows = async () =>
        (
          await pool.query(
            `SELECT device, vantage, src_process_name, dst_process_name, src_pid, dst_pid, cluster_id
             FROM flows.records_wide WHERE src_addr = '10.44.0.1'::inet ORDER BY vantage DESC`,
          )
        ).rows as Record<string, unknown>[];
      for (const deadline = Date.now() + 20_000; (await rows()).length < 2; ) {
        if (Date.now() > deadline) throw new Error("records not stored");
        await new Promise((r) => setTimeout(r, 100));
      }
      let metrics: AggregateMetrics | null = null;
      for (const deadline = Date.now() + 20_000; (metrics?.forward.dropped ?? 0) < 1; ) {
        if (Date.now() > deadline) throw new Error(`refused batch not counted: ${JSON.stringify(metrics)}`);
        metrics = await agg.metrics();
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await rows()).toEqual([
        {
          device: names.a,
          vantage: "src",
          src_process_name: "frontend",
          dst_process_name: "backend",
          src_pid: 7,
          dst_pid: 9,
          cluster_id: "c1",
        },
        {
          device: names.b,
          vantage: "dst",
          src_process_name: "frontend",
          dst_process_name: "backend",
          src_pid: 7,
          dst_pid: 9,
          cluster_id: "c1",
        },
      ]);
      expect(metrics?.forward.last_error ?? "").toContain("400");
    } finally {
      await agg.stop();
    }
  }, 60_000);
});
