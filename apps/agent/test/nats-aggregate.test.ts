// The aggregator forwarding through NATS JetStream, with HTTP to the console while NATS is away.
import { randomUUID } from "node:crypto";
import { emptyEndpoint, type FlowRecord, flowStreamHeaders, streamNameFor } from "@kernflow/protocol";
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { NatsServer, natsServerBinary, storedBatch } from "../../../packages/api/test/nats-support";
import { sampleRecord } from "../src/sinks/fixtures.test-support";
import { ConsoleStandIn, eventually, postBatch, startAggregator } from "./aggregate-support";

const cred = "n".repeat(40);

/** A DNS query from `port`: a record that nothing joins (no other side is ever sent). */
function record(port: number): FlowRecord {
  const now = new Date().toISOString();
  return sampleRecord({
    ts_start: now,
    ts_end: now,
    device: "edge-9",
    protocol: 17,
    src_addr: "10.3.0.1",
    dst_addr: "10.3.0.2",
    src_port: port,
    dst_port: 53,
    bytes: 80,
    packets: 1,
    tcp_flags: 0,
    rtt_us: null,
    src: emptyEndpoint(),
  });
}

describe.skipIf(natsServerBinary === undefined)("aggregate --nats (real nats-server)", () => {
  it("publishes joined batches to the stream under the sender's credential, and posts to the console while NATS is down", async () => {
    const nats = await new NatsServer().start();
    const console = await new ConsoleStandIn(new Set([cred])).start();
    const agg = await startAggregator({
      serverUrl: console.url,
      natsUrl: `${nats.url}/kernflow.flows`,
      joinWindowMs: 0,
      maxEntries: 1_000,
    });
    const { url, metrics } = agg;
    const nc = await nats.connect({ maxReconnectAttempts: -1 });
    try {
      await postBatch(url, cred, { batch_id: randomUUID(), records: [record(1), record(2)] });
      for (const deadline = Date.now() + 15_000; (await metrics()).forward.forwarded_nats < 2; ) {
        if (Date.now() > deadline) throw new Error("not published to NATS");
        await new Promise((r) => setTimeout(r, 100));
      }
      const jsm = await jetstreamManager(nc);
      const { message, batch } = await storedBatch(jsm, streamNameFor("kernflow.flows"), 1);
      expect(message.header.get(flowStreamHeaders.credential)).toBe(cred);
      expect(batch.records.map((r) => r.src_port).sort()).toEqual([1, 2]);
      expect(message.header.get(flowStreamHeaders.msgId)).toBe(batch.batch_id);
      expect(console.records).toHaveLength(0);

      await nats.stop();
      await postBatch(url, cred, { batch_id: randomUUID(), records: [record(3)] });
      await eventually("the console to get the record over HTTP", () => console.records.length === 1, 30_000);
      expect(console.records[0]?.src_port).toBe(3);
      const m = await metrics();
      expect(m.forward).toMatchObject({ forwarded: 3, forwarded_nats: 2, dropped: 0 });
    } finally {
      await agg.stop();
      await nc.close();
      await console.stop();
      await nats.cleanup();
    }
  }, 90_000);
});
