// `kernflow-agent capture --export nats://…` on a real kernel: every record printed is also in the JetStream
// stream, in the documented format, without a credential header.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  type FlowRecord,
  flowBatchSchema,
  flowRecordSchema,
  flowStreamHeaders,
  streamNameFor,
} from "@kernflow/protocol";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { NatsServer, natsServerBinary } from "../../../packages/api/test/nats-support";
import { kernelTestsUnavailable, repoRoot, TrafficProcess, trafficScript, VethLink } from "./capture-harness";

const unavailable = kernelTestsUnavailable();
const bin = join(repoRoot, "apps/agent/bin/kernflow-agent.js");

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
        const agent = spawn(
          process.execPath,
          [
            bin,
            "capture",
            "--interfaces",
            link.outer,
            "--format",
            "ndjson",
            "--interval",
            "500ms",
            "--export",
            `${nats.url}/${subject}`,
          ],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
        let stdout = "";
        let stderr = "";
        agent.stdout.on("data", (d) => {
          stdout += String(d);
        });
        agent.stderr.on("data", (d) => {
          stderr += String(d);
        });
        const exit = new Promise<number | null>((resolve) => agent.once("exit", resolve));
        for (const deadline = Date.now() + 60_000; !/attached to /.test(stderr); ) {
          if (Date.now() > deadline || agent.exitCode !== null)
            throw new Error(`agent did not attach: ${stderr}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        const client = TrafficProcess.start([
          ...["python3", trafficScript, "udp-client", link.innerAddr, String(ready.port)],
          ...["9", "200"],
        ]);
        await client.next("done");
        await new Promise((r) => setTimeout(r, 1_200));
        agent.kill("SIGINT");
        expect(await exit, stderr).toBe(0);
        const printed = stdout
          .trimEnd()
          .split("\n")
          .map((l) => flowRecordSchema.parse(JSON.parse(l)));
        expect(printed.length).toBeGreaterThan(0);

        const nc = await connect({ servers: `127.0.0.1:${nats.port}` });
        try {
          const jsm = await jetstreamManager(nc);
          const stream = streamNameFor(subject);
          const { state } = await jsm.streams.info(stream);
          const published: FlowRecord[] = [];
          for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
            const m = await jsm.streams.getMessage(stream, { seq });
            expect(m?.header.get(flowStreamHeaders.credential)).toBe("");
            const batch = flowBatchSchema.parse(JSON.parse(gunzipSync(m?.data as Uint8Array).toString()));
            expect(m?.header.get(flowStreamHeaders.msgId)).toBe(batch.batch_id);
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
