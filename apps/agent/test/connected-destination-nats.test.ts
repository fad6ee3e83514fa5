// The shipper with a NATS flow destination against a real nats-server: what it publishes is the
// documented flow-stream message, and with NATS and the console both away the batch waits in the spool.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flowStreamHeaders, streamNameFor } from "@kernflow/protocol";
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { NatsServer, natsServerBinary, storedBatch } from "../../../packages/api/test/nats-support";
import { Backoff } from "../src/connected/backoff";
import { AgentClient } from "../src/connected/client";
import { NatsDestination } from "../src/connected/nats-destination";
import { FlowShipper } from "../src/connected/shipper";
import { Spool } from "../src/connected/spool";
import { sampleRecord } from "../src/sinks/fixtures.test-support";

const credential = `kfa_${"d".repeat(40)}`;

/** A URL nothing listens on: a port that was free a moment ago. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(natsServerBinary === undefined)("FlowShipper with a NATS flow destination", () => {
  it("keeps the batch spooled while NATS and the console are both away, then publishes it with its batch id and the agent's credential", async () => {
    const nats = await new NatsServer().start();
    await nats.stop(); // its port is known now; NATS is away until started again
    const dir = mkdtempSync(join(tmpdir(), "kf-dest-nats-"));
    const logs: string[] = [];
    const log = (msg: string) => logs.push(msg);
    const spool = new Spool(dir, 1 << 20, log);
    const destination = new NatsDestination(() => `${nats.url}/kernflow.flows`, credential, log, 500);
    const consoleClient = new AgentClient(await deadUrl(), credential);
    const shipper = new FlowShipper(
      spool,
      () => consoleClient,
      { log, onFailure: () => {}, onSuccess: () => {} },
      new Backoff(20, 200, () => 1),
      destination,
    );
    const stop = new AbortController();
    const running = shipper.run(stop.signal);
    try {
      shipper.enqueue([sampleRecord({ src_port: 1 }), sampleRecord({ src_port: 2 })]);
      const batchId = spool.oldest()?.batchId;
      await until("NATS and then the console tried", () =>
        logs.some((l) => l.startsWith("shipping flows failed")),
      );
      expect(logs.join("\n")).toContain("posting flow batches to the console meanwhile");
      await new Promise((r) => setTimeout(r, 1_000));
      expect(spool.size).toBe(1);
      expect(shipper.shipped.batches).toBe(0);

      await nats.start();
      await until("the batch left the spool", () => spool.size === 0, 30_000);
      expect(destination.published.batches).toBe(1);
      expect(shipper.shipped).toMatchObject({ batches: 1, records: 2 });

      const nc = await nats.connect();
      try {
        const { message, batch } = await storedBatch(
          await jetstreamManager(nc),
          streamNameFor("kernflow.flows"),
          1,
        );
        expect(message.header.get(flowStreamHeaders.msgId)).toBe(batchId);
        expect(message.header.get(flowStreamHeaders.credential)).toBe(credential);
        expect(message.header.get(flowStreamHeaders.encoding)).toBe("gzip");
        expect(batch.batch_id).toBe(batchId);
        expect(batch.records.map((r) => r.src_port)).toEqual([1, 2]);
      } finally {
        await nc.close();
      }
    } finally {
      stop.abort();
      await running;
      await destination.close();
      await nats.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
