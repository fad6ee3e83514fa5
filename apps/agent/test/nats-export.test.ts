// `kernflow-agent capture --export nats://…` on a real kernel: every record printed is also in the JetStream
// stream, in the documented format, without a credential header.
import { type FlowRecord, flowStreamHeaders, streamNameFor } from "@kernflow/protocol";
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { NatsServer, natsServerBinary, storedBatch } from "../../../packages/api/test/nats-support";
import { kernelTestsUnavailable, TrafficProcess, trafficScript, VethLink } from "./capture-harness";
import { startCaptureProcess } from "./support/capture-process";

const unavailable = kernelTestsUnavailable();

describe.skipIf(unavailable !== null || natsServerBinary === undefined)(
  "capture --export nats:// (real kernel)",
  () => {
    it("publishes every record it prints to the JetStream subject", async () => {
      const nats = await new NatsServer().start();
      const link = new VethLink().create();
      const server = TrafficProcess.start([
        ...["ip", "netns", "exec", link.netns],
        ...["python3", trafficScript, "udp-server", link.innerAddr],
      ]);
      try {
        const ready = await server.next("ready");
        const subject = "kernflow.export";
        const agent = await startCaptureProcess([
          ...["--interfaces", link.outer, "--interval", "500ms"],
          ...["--export", `${nats.url}/${subject}`],
        ]);
        const client = TrafficProcess.start([
          ...["python3", trafficScript, "udp-client", link.innerAddr, String(ready.port)],
          ...["9", "200"],
        ]);
        await client.next("done");
        await new Promise((r) => setTimeout(r, 1_200));
        const printed = await agent.stop();
        expect(printed.length).toBeGreaterThan(0);

        const nc = await nats.connect();
        try {
          const jsm = await jetstreamManager(nc);
          const stream = streamNameFor(subject);
          const { state } = await jsm.streams.info(stream);
          const published: FlowRecord[] = [];
          for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
            const { message, batch } = await storedBatch(jsm, stream, seq);
            expect(message.header.get(flowStreamHeaders.credential)).toBe("");
            expect(message.header.get(flowStreamHeaders.msgId)).toBe(batch.batch_id);
            published.push(...batch.records);
          }
          const key = (r: FlowRecord) => JSON.stringify(r);
          expect(published.map(key).sort()).toEqual(printed.map(key).sort());
          const udp = published.filter((r) => r.protocol === 17 && r.dst_port === ready.port);
          expect(udp.reduce((n, r) => n + r.packets, 0)).toBe(9);
        } finally {
          await nc.close();
        }
      } finally {
        server.stop();
        link.destroy();
        await nats.cleanup();
      }
    }, 120_000);
  },
);
