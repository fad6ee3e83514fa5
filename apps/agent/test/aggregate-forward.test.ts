import { randomUUID } from "node:crypto";
import { emptyEndpoint, type FlowRecord, packFlowBatch } from "@kernflow/protocol";
import { rowLayoutBody, rowLayoutRecords } from "@kernflow/protocol/row-layout-sample";
import { afterEach, describe, expect, it } from "vitest";
import type { AggregateOptions } from "../src/roles/aggregate";
import { sampleRecord } from "../src/sinks/fixtures.test-support";
import {
  ConsoleStandIn,
  eventually,
  KubetagsStandIn,
  postBatch,
  type RunningAggregator,
  startAggregator as startAggregatorWith,
} from "./aggregate-support";

const credA = "a".repeat(40);
const credB = "b".repeat(40);

function record(vantage: "src" | "dst", overrides: Partial<FlowRecord> = {}): FlowRecord {
  const src = emptyEndpoint();
  const dst = emptyEndpoint();
  if (vantage === "src")
    Object.assign(src, {
      pid: 101,
      process_name: "web",
      container_id: "c".repeat(64),
      process_cmdline: "web",
    });
  else Object.assign(dst, { pid: 202, process_name: "db", container_id: "d".repeat(64) });
  const now = new Date();
  return sampleRecord({
    ts_start: new Date(now.getTime() - 1_000).toISOString(),
    ts_end: now.toISOString(),
    device: vantage === "src" ? "node-a" : "node-b",
    vantage,
    direction: vantage === "src" ? "egress" : "ingress",
    src_addr: "10.1.0.5",
    dst_addr: "10.2.0.7",
    src_port: 41000,
    dst_port: 5432,
    bytes: 1000,
    packets: 5,
    rtt_us: 120,
    src,
    dst,
    ...overrides,
  });
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An aggregator with this file's defaults, stopped after the test unless the test stopped it. */
async function startAggregator(
  options: Partial<AggregateOptions> & { serverUrl: string },
): Promise<RunningAggregator> {
  const running = await startAggregatorWith({
    joinWindowMs: 2_000,
    maxEntries: 10_000,
    shutdownGraceMs: 5_000,
    ...options,
  });
  cleanups.push(async () => {
    if (!running.stopped) await running.stop();
  });
  return running;
}

describe("kernflow-agent aggregate (real HTTP)", () => {
  it("forwards both records of a conversation joined, each under the credential it came with, with Kubernetes metadata", async () => {
    const console = await new ConsoleStandIn(new Set([credA, credB])).start();
    cleanups.push(() => console.stop());
    const workload = { kind: "Deployment", name: "web", namespace: "shop" };
    const kubetags = await new KubetagsStandIn(
      [
        {
          ip: "10.2.0.7",
          kind: "pod",
          name: "db-0",
          namespace: "data",
          node: "node-b",
          labels: { app: "db" },
          workload: { kind: "StatefulSet", name: "db", namespace: "data" },
        },
      ],
      [
        {
          container_id: "c".repeat(64),
          container: "web-server",
          pod: "web-7d9f-abcde",
          pod_uid: "u1",
          namespace: "shop",
          node: "node-a",
          labels: { app: "web" },
          workload,
        },
      ],
    ).start();
    cleanups.push(() => kubetags.stop());
    const agg = await startAggregator({
      serverUrl: console.url,
      kubetagsUrl: kubetags.url,
      clusterId: "prod-1",
    });
    await eventually("the kubetags snapshot", () => kubetags.snapshots > 0);

    expect(
      (await postBatch(agg.url, credA, { batch_id: randomUUID(), records: [record("src")] })).status,
    ).toBe(200);
    // One agent sends whole records (as older agents and NATS do), the other the packed form agents send now.
    expect((await postBatch(agg.url, credB, packFlowBatch(randomUUID(), [record("dst")]))).status).toBe(200);
    await eventually("two forwarded records", () => console.records.length === 2);
    expect(console.batches.map((b) => b.form)).toEqual(["packed", "packed"]);

    const fromA = console.records.find((r) => r.credential === credA) as FlowRecord;
    const fromB = console.records.find((r) => r.credential === credB) as FlowRecord;
    expect(fromA.vantage).toBe("src");
    expect(fromB.vantage).toBe("dst");
    for (const r of [fromA, fromB]) {
      expect(r.src).toMatchObject({
        pid: 101,
        process_name: "web",
        container_name: "web-server",
        object_name: "web-7d9f-abcde",
        object_namespace: "shop",
        object_type: "pod",
        workload_name: "web",
        workload_namespace: "shop",
        node: "node-a",
        object_labels: { app: "web" },
      });
      // The destination's container is unknown to kubetags: its pod is found by its IP instead.
      expect(r.dst).toMatchObject({
        pid: 202,
        process_name: "db",
        object_name: "db-0",
        object_type: "pod",
        workload_name: "db",
        node: "node-b",
      });
      expect(r.cluster_id).toBe("prod-1");
    }
    const metrics = await agg.metrics();
    expect(metrics.join).toMatchObject({ received: 2, joined: 2, unjoined: 0 });
    expect(metrics.forward.forwarded).toBe(2);
  });

  it("applies kubetags changes while running", async () => {
    const console = await new ConsoleStandIn(new Set([credA])).start();
    cleanups.push(() => console.stop());
    const kubetags = await new KubetagsStandIn([], []).start();
    cleanups.push(() => kubetags.stop());
    const agg = await startAggregator({ serverUrl: console.url, kubetagsUrl: kubetags.url, joinWindowMs: 0 });
    await eventually("the kubetags snapshot", () => kubetags.snapshots > 0);
    kubetags.upsertIp({
      ip: "10.2.0.7",
      kind: "service",
      name: "db",
      namespace: "data",
      node: "",
      labels: {},
      workload: null,
    });
    let applied = 0;
    for (const deadline = Date.now() + 10_000; applied === 0 && Date.now() < deadline; ) {
      applied = (await agg.metrics()).kubetags?.changes ?? 0;
    }
    expect(applied).toBeGreaterThan(0);
    await postBatch(agg.url, credA, { batch_id: randomUUID(), records: [record("src")] });
    await eventually("a forwarded record", () => console.records.length === 1);
    expect(console.records[0]?.dst).toMatchObject({ object_name: "db", object_type: "service", node: null });
  });

  it("forwards a record unjoined after the join window when its partner never comes", async () => {
    const console = await new ConsoleStandIn(new Set([credA])).start();
    cleanups.push(() => console.stop());
    const agg = await startAggregator({ serverUrl: console.url, joinWindowMs: 600 });
    const sent = Date.now();
    await postBatch(agg.url, credA, { batch_id: randomUUID(), records: [record("src")] });
    await new Promise((r) => setTimeout(r, 300));
    expect(console.records).toHaveLength(0);
    await eventually("the unjoined record", () => console.records.length === 1);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(600);
    expect(console.records[0]?.dst.pid).toBeNull();
    expect((await agg.metrics()).join).toMatchObject({ unjoined: 1, joined: 0, waiting: 0 });
  });

  it("retries a batch the console failed with the same batch id, so it is stored once", async () => {
    const console = await new ConsoleStandIn(new Set([credA])).start();
    cleanups.push(() => console.stop());
    console.failNext = 2;
    const agg = await startAggregator({ serverUrl: console.url, joinWindowMs: 0 });
    await postBatch(agg.url, credA, {
      batch_id: randomUUID(),
      records: [record("src"), record("src", { src_port: 41001 })],
    });
    await eventually("the batch stored", () => console.batches.length === 1, 20_000);
    expect(console.requests.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(new Set(console.requests.map((r) => r.batchId)).size).toBe(1);
    expect(console.records).toHaveLength(2);
    expect((await agg.metrics()).forward).toMatchObject({ forwarded: 2, retries: 2, dropped: 0 });
  });

  it("forwards whole records, losing none, to a console that refuses the packed form with 400", async () => {
    const console = await new ConsoleStandIn(new Set([credA])).start();
    cleanups.push(() => console.stop());
    console.refusePacked = true;
    const agg = await startAggregator({ serverUrl: console.url, joinWindowMs: 0 });
    await postBatch(agg.url, credA, packFlowBatch(randomUUID(), [record("src")]));
    await eventually("the first batch stored", () => console.batches.length === 1);
    await postBatch(agg.url, credA, {
      batch_id: randomUUID(),
      records: [record("src", { src_port: 41001 })],
    });
    await eventually("the second batch stored", () => console.batches.length === 2);
    // The first batch is refused packed and sent again whole, same id; the second goes whole at once.
    expect(console.requests.map((r) => r.status)).toEqual([400, 200, 200]);
    expect(console.requests[0]?.batchId).toBe(console.requests[1]?.batchId);
    expect(console.batches.map((b) => b.form)).toEqual(["records", "records"]);
    expect(console.records.map((r) => r.src_port)).toEqual([41000, 41001]);
    expect((await agg.metrics()).forward).toMatchObject({ forwarded: 2, dropped: 0 });
  });

  it("takes a batch in the previous version's row layout from an agent not yet upgraded and forwards its records", async () => {
    const console = await new ConsoleStandIn(new Set([credA])).start();
    cleanups.push(() => console.stop());
    const agg = await startAggregator({ serverUrl: console.url, joinWindowMs: 0 });
    const rows = await postBatch(agg.url, credA, JSON.parse(rowLayoutBody));
    expect(rows).toEqual({ status: 200, body: { accepted: rowLayoutRecords.length, duplicate: false } });
    await eventually(
      "the row-layout records forwarded",
      () => console.records.length === rowLayoutRecords.length,
    );
    expect(console.batches.map((b) => b.form)).toEqual(["packed"]);
    // The records it holds, each whole, under the credential they came with.
    expect(console.records).toEqual(rowLayoutRecords.map((r) => ({ ...r, credential: credA })));
  });

  it("drops a batch the console refuses (400) packed and whole alike, and still sends the next one packed", async () => {
    const console = await new ConsoleStandIn(new Set([credA])).start();
    cleanups.push(() => console.stop());
    console.refuseRecord = (r) => r.src_port === 666;
    const agg = await startAggregator({ serverUrl: console.url, joinWindowMs: 0 });
    await postBatch(agg.url, credA, packFlowBatch(randomUUID(), [record("src", { src_port: 666 })]));
    await eventually("the bad batch refused twice", () => console.requests.length === 2);
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      if ((await agg.metrics()).forward.dropped === 1) break;
    }
    await postBatch(agg.url, credA, packFlowBatch(randomUUID(), [record("src", { src_port: 41001 })]));
    await eventually("the next batch stored", () => console.batches.length === 1);
    // Refused packed, then whole (same id): the batch is bad, not the form, so the next one goes packed.
    expect(console.requests.map((r) => r.status)).toEqual([400, 400, 200]);
    expect(console.requests[0]?.batchId).toBe(console.requests[1]?.batchId);
    expect(console.batches.map((b) => b.form)).toEqual(["packed"]);
    expect(console.records.map((r) => r.src_port)).toEqual([41001]);
    expect((await agg.metrics()).forward).toMatchObject({ forwarded: 1, dropped: 1 });
  });

  it("answers duplicate for an agent's retried batch and forwards its records once", async () => {
    const console = await new ConsoleStandIn(new Set([credA])).start();
    cleanups.push(() => console.stop());
    const agg = await startAggregator({ serverUrl: console.url, joinWindowMs: 0 });
    const batch = { batch_id: randomUUID(), records: [record("src")] };
    expect((await postBatch(agg.url, credA, batch)).body).toEqual({ accepted: 1, duplicate: false });
    expect((await postBatch(agg.url, credA, batch)).body).toEqual({ accepted: 1, duplicate: true });
    await new Promise((r) => setTimeout(r, 500));
    expect(console.records).toHaveLength(1);
  });

  it("drops and counts records whose credential the console refuses, and goes on for others", async () => {
    const console = await new ConsoleStandIn(new Set([credA])).start();
    cleanups.push(() => console.stop());
    const agg = await startAggregator({ serverUrl: console.url, joinWindowMs: 0 });
    await postBatch(agg.url, credB, { batch_id: randomUUID(), records: [record("src")] });
    await postBatch(agg.url, credA, { batch_id: randomUUID(), records: [record("src", { src_port: 1 })] });
    await eventually("the good batch", () => console.records.length === 1);
    await eventually("the refused batch counted", () => console.requests.some((r) => r.status === 401));
    const metrics = await agg.metrics();
    expect(metrics.forward.dropped).toBe(1);
    expect(metrics.forward.last_error ?? "").toContain("401");
    expect(console.records[0]?.credential).toBe(credA);
  });

  it("refuses bad input with 400 naming the problem, and a missing credential with 401", async () => {
    const console = await new ConsoleStandIn(new Set([credA])).start();
    cleanups.push(() => console.stop());
    const agg = await startAggregator({ serverUrl: console.url });
    const noAuth = await fetch(`${agg.url}/api/agent/v1/flows`, { method: "POST", body: "{}" });
    expect(noAuth.status).toBe(401);
    const bad = await postBatch(agg.url, credA, {
      batch_id: randomUUID(),
      records: [{ ...record("src"), protocol: 999 }],
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("record 0: protocol");
    const packed = packFlowBatch(randomUUID(), [record("src")]);
    packed.columns.src_port[0] = 70_000;
    const badPacked = await postBatch(agg.url, credA, packed);
    expect(badPacked.status).toBe(400);
    expect(JSON.stringify(badPacked.body)).toContain("record 0: src_port");
    // A bad value in the previous version's row layout is refused as in a whole record.
    const badRows = JSON.parse(rowLayoutBody);
    badRows.records[1][9] = 70_000; // src_port
    const refusedRows = await postBatch(agg.url, credA, badRows);
    expect(refusedRows.status).toBe(400);
    expect(JSON.stringify(refusedRows.body)).toContain("record 1: src_port");
    const notJson = await fetch(`${agg.url}/api/agent/v1/flows`, {
      method: "POST",
      headers: { authorization: `Bearer ${credA}` },
      body: "{nope",
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { message: string } }).error.message).toContain("not JSON");
  });

  it("answers 429 when the console is away and the forward queue is full, instead of losing records", async () => {
    const console = await new ConsoleStandIn(new Set([credA])).start();
    cleanups.push(() => console.stop());
    console.failNext = 1_000_000;
    const agg = await startAggregator({ serverUrl: console.url, joinWindowMs: 0, maxQueuedRecords: 3 });
    const records = [0, 1, 2].map((i) => record("src", { src_port: 2000 + i }));
    expect((await postBatch(agg.url, credA, { batch_id: randomUUID(), records })).status).toBe(200);
    const refused = await postBatch(agg.url, credA, { batch_id: randomUUID(), records: [record("src")] });
    expect(refused.status).toBe(429);
    console.failNext = 0;
    await eventually("the queued batch delivered", () => console.records.length === 3, 40_000);
  }, 60_000);
});
