// The aggregator forwarding through NATS JetStream, with HTTP to the console while NATS is away.
import { randomUUID } from "node:crypto";
import { gunzipSync } from "node:zlib";
import {
  emptyEndpoint,
  type FlowRecord,
  flowBatchSchema,
  flowStreamHeaders,
  streamNameFor,
} from "@kernflow/protocol";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { NatsServer, natsServerBinary } from "../../../packages/api/test/nats-support";
import { type AggregateMetrics, runAggregate } from "../src/roles/aggregate";
import { ConsoleStandIn, eventually, postBatch } from "./aggregate-support";

const cred = "n".repeat(40);

function record(port: number): FlowRecord {
  const now = new Date().toISOString();
  return {
    ts_start: now,
    ts_end: now,
    device: "edge-9",
    vantage: "src",
    interface: "eth0",
    direction: "egress",
    protocol: 17,
    src_addr: "10.3.0.1",
    dst_addr: "10.3.0.2",
    src_port: port,
    dst_port: 53,
    bytes: 80,
    packets: 1,
    sample_rate: 1,
    tcp_flags: 0,
    retransmits: 0,
    rtt_us: null,
    app_latency_ms: null,
    src: emptyEndpoint(),
    dst: emptyEndpoint(),
    cluster_id: null,
  };
}

describe.skipIf(natsServerBinary === undefined)("aggregate --nats (real nats-server)", () => {
  it("publishes joined batches to the stream under the sender's credential, and posts to the console while NATS is down", async () => {
    const nats = await new NatsServer().start();
    const console = await new ConsoleStandIn(new Set([cred])).start();
    const stop = new AbortController();
    let url = "";
    const done = runAggregate(
      {
        listenHost: "127.0.0.1",
        listenPort: 0,
        serverUrl: console.url,
        natsUrl: `${nats.url}/kernflow.flows`,
        joinWindowMs: 0,
        maxEntries: 1_000,
        flushMs: 50,
        log: () => {},
        onListening: ({ port }) => {
          url = `http://127.0.0.1:${port}`;
        },
      },
      stop.signal,
    );
    const nc = await connect({ servers: `127.0.0.1:${nats.port}`, maxReconnectAttempts: -1 });
    try {
      await eventually("listening", () => url !== "");
      const metrics = async () => (await (await fetch(`${url}/metrics`)).json()) as AggregateMetrics;
      await postBatch(url, cred, { batch_id: randomUUID(), records: [record(1), record(2)] });
      for (const deadline = Date.now() + 15_000; (await metrics()).forward.forwarded_nats < 2; ) {
        if (Date.now() > deadline) throw new Error("not published to NATS");
        await new Promise((r) => setTimeout(r, 100));
      }
      const jsm = await jetstreamManager(nc);
      const stored = await jsm.streams.getMessage(streamNameFor("kernflow.flows"), { seq: 1 });
      expect(stored?.header.get(flowStreamHeaders.credential)).toBe(cred);
      const body = flowBatchSchema.parse(JSON.parse(gunzipSync(stored?.data as Uint8Array).toString()));
      expect(body.records.map((r) => r.src_port).sort()).toEqual([1, 2]);
      expect(stored?.header.get(flowStreamHeaders.msgId)).toBe(body.batch_id);
      expect(console.records).toHaveLength(0);

      await nats.stop();
      await postBatch(url, cred, { batch_id: randomUUID(), records: [record(3)] });
      await eventually("the console to get the record over HTTP", () => console.records.length === 1, 30_000);
      expect(console.records[0]?.src_port).toBe(3);
      const m = await metrics();
      expect(m.forward).toMatchObject({ forwarded: 3, forwarded_nats: 2, dropped: 0 });
    } finally {
      stop.abort();
      await done;
      await nc.close();
      await console.stop();
      await nats.cleanup();
    }
  }, 90_000);
});
