// The agent's JetStream publisher against Debian's real nats-server: the documented message format, dedup
// by batch id, and a clear NatsUnavailableError (so the caller keeps the batch) while the server is away.
import { randomUUID } from "node:crypto";
import { emptyEndpoint, type FlowBatch, flowStreamHeaders, streamNameFor } from "@kernflow/protocol";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterEach, describe, expect, it } from "vitest";
// One nats-server harness for every package's NATS tests.
import { NatsServer, natsServerBinary, storedBatch } from "../../../packages/api/test/nats-support";
import { sampleRecord } from "../src/sinks/fixtures.test-support";
import { NatsFlowPublisher, NatsUnavailableError } from "../src/transport/nats";

const servers: NatsServer[] = [];
const publishers: NatsFlowPublisher[] = [];
afterEach(async () => {
  for (const p of publishers.splice(0)) await p.close();
  for (const s of servers.splice(0)) await s.cleanup();
});

function batch(): FlowBatch {
  const now = new Date().toISOString();
  return {
    batch_id: randomUUID(),
    records: [
      sampleRecord({
        ts_start: now,
        ts_end: now,
        device: "edge-1",
        src_port: 1234,
        packets: 2,
        rtt_us: 300,
        app_latency_ms: 1.5,
        src: { ...emptyEndpoint(), pid: 42, process_name: "curl" },
      }),
    ],
  };
}

describe.skipIf(natsServerBinary === undefined)("NatsFlowPublisher (real nats-server)", () => {
  it("stores a batch in the stream in the documented format, and a re-publish of its id as a duplicate", async () => {
    const nats = await new NatsServer().start();
    servers.push(nats);
    const publisher = await NatsFlowPublisher.connect(`${nats.url}/kernflow.flows`);
    publishers.push(publisher);
    const sent = batch();
    expect(await publisher.publish(sent, "kfa_secret")).toEqual({ duplicate: false });
    expect(await publisher.publish(sent, "kfa_secret")).toEqual({ duplicate: true });

    const nc = await nats.connect();
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(streamNameFor("kernflow.flows"));
      expect(info.state.messages).toBe(1);
      const { message, batch } = await storedBatch(jsm, streamNameFor("kernflow.flows"), 1);
      expect(message.subject).toBe("kernflow.flows");
      expect(message.header.get(flowStreamHeaders.msgId)).toBe(sent.batch_id);
      expect(message.header.get(flowStreamHeaders.encoding)).toBe("gzip");
      expect(message.header.get(flowStreamHeaders.credential)).toBe("kfa_secret");
      expect(batch).toEqual(sent);
    } finally {
      await nc.close();
    }
  });

  it("fails with NatsUnavailableError when no server listens, and while the server is down; publishes again after it is back", async () => {
    const nats = await new NatsServer().start();
    servers.push(nats);
    await nats.stop();
    await expect(
      NatsFlowPublisher.connect(`${nats.url}/kernflow.flows`, { timeoutMs: 1_000 }),
    ).rejects.toThrow(NatsUnavailableError);
    await nats.start();
    const publisher = await NatsFlowPublisher.connect(`${nats.url}/kernflow.flows`, { timeoutMs: 1_000 });
    publishers.push(publisher);
    await nats.stop();
    await expect(publisher.publish(batch(), "kfa_secret")).rejects.toThrow(NatsUnavailableError);
    await nats.start();
    // The client reconnects by itself; the stream survived in the server's store.
    let result: { duplicate: boolean } | null = null;
    for (let i = 0; i < 50 && result === null; i++) {
      result = await publisher.publish(batch(), "kfa_secret").catch(() => null);
      if (result === null) await new Promise((r) => setTimeout(r, 200));
    }
    expect(result).toEqual({ duplicate: false });
  }, 60_000);
});
