// A plan's flow destination, end to end as root: real console, real agent processes capturing on a real
// veth, a real `kernflow-agent aggregate` process, a real nats-server with JetStream and an ingest worker.
// What the console stores for the agent must equal the kernel's counters of the interface: nothing lost
// on the way through the aggregator or NATS, nothing doubled by the fallback to HTTP.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { registerDefaultBytecode } from "@kernflow/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyNatsIngestStats, runNatsIngest } from "../../../packages/api/src/flows/nats-ingest";
import { NatsServer, natsServerBinary } from "../../../packages/api/test/nats-support";
import { defaultBytecodePath } from "../src/bpf/loader";
import { type Counters, counters, kernelTestsUnavailable, VethLink } from "./capture-harness";
import { useCaptureLab } from "./capture-lab";
import { AgentProcess } from "./support/agent-process";
import { TestConsole } from "./support/console";

const unavailable = kernelTestsUnavailable();

async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(unavailable !== null || natsServerBinary === undefined)(
  "kernflow-agent run with the plan's flow destination",
  () => {
    const lab = useCaptureLab();
    let consoleServer: TestConsole;
    const cleanups: (() => unknown)[] = [];

    beforeAll(async () => {
      consoleServer = await TestConsole.start();
      await registerDefaultBytecode(consoleServer.database.prisma, defaultBytecodePath());
    }, 120_000);

    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
      await consoleServer?.close();
    });

    async function udpBurst(link: VethLink, count: number): Promise<void> {
      const server = lab.traffic("kf-destsrv", ["udp-server", link.innerAddr], link.netns);
      const ready = await server.next("ready");
      const client = lab.traffic("kf-destudp", [
        "udp-client",
        link.innerAddr,
        String(ready.port),
        String(count),
        "20",
      ]);
      await client.next("done");
      server.stop();
    }

    /** A veth, a plan capturing on it with `flowDestination`, and an agent enrolled in it (not yet run). */
    async function enrolledAgent(flowDestination: string) {
      const link = lab.keep(new VethLink().create());
      const { planId, secret } = await consoleServer.planAndToken();
      await consoleServer.restOk("POST", "/capture-rules", {
        scope: "plan",
        planId,
        name: "the veth",
        include: [link.outer],
      });
      const plan = await consoleServer.restOk("PATCH", `/plans/${planId}`, { flowDestination });
      expect(plan.flowDestination).toBe(flowDestination);
      const stateDir = mkdtempSync(join(tmpdir(), "kf-dest-"));
      cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
      const enrolled = await AgentProcess.once([
        "enroll",
        ...["--server", consoleServer.url, "--token", secret, "--state-dir", stateDir],
      ]);
      expect(enrolled.code, enrolled.stderr).toBe(0);
      const deviceId: string = JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8")).device.id;
      return { link, stateDir, deviceId };
    }

    /** The stored totals of the device on the interface equal the kernel's counters since `before`. */
    async function expectStoredEqualsKernel(deviceId: string, ifname: string, before: Counters) {
      const after = counters(ifname);
      const tx = after.txPackets - before.txPackets;
      const rx = after.rxPackets - before.rxPackets;
      const egress = `interface = '${ifname}' and direction = 'egress'`;
      const ingress = `interface = '${ifname}' and direction = 'ingress'`;
      await until(
        "every packet stored",
        async () =>
          (await consoleServer.storedTotals(deviceId, egress)).packets >= tx &&
          (await consoleServer.storedTotals(deviceId, ingress)).packets >= rx,
        60_000,
      );
      // A little longer: a doubled batch arriving late must show as a mismatch below.
      await new Promise((r) => setTimeout(r, 2_000));
      const out = await consoleServer.storedTotals(deviceId, egress);
      const into = await consoleServer.storedTotals(deviceId, ingress);
      expect(out.packets).toBe(tx);
      expect(out.bytes).toBe(after.txBytes - before.txBytes - 14 * tx);
      expect(into.packets).toBe(rx);
      expect(into.bytes).toBe(after.rxBytes - before.rxBytes - 14 * rx);
      return { tx, rx };
    }

    it("with an aggregator as the destination, the agent's records reach the console through a real aggregate process, totals equal to the kernel's", async () => {
      const aggregator = AgentProcess.start([
        "aggregate",
        ...["--listen", "127.0.0.1:0", "--server", consoleServer.url, "--join-window", "1s"],
      ]);
      cleanups.push(() => aggregator.stop());
      const listening = await aggregator.waitFor(/aggregating on http:\/\/[^:]+:\d+/, 30_000);
      const aggregatorUrl = (listening.text.match(/http:\/\/[^:]+:\d+/) as RegExpMatchArray)[0];
      const { link, stateDir, deviceId } = await enrolledAgent(aggregatorUrl);

      const agent = AgentProcess.start(["run", "--state-dir", stateDir]);
      cleanups.push(() => agent.stop());
      await agent.waitFor(`attached to ${link.outer} `, 30_000);
      const before = counters(link.outer);
      await udpBurst(link, 30);
      expect(await agent.stop()).toBe(0);
      const { tx } = await expectStoredEqualsKernel(deviceId, link.outer, before);
      expect(tx).toBeGreaterThanOrEqual(30);

      // They went through the aggregator, not straight to the console.
      const metrics = (await (await fetch(`${aggregatorUrl}/metrics`)).json()) as {
        forward: { forwarded: number; dropped: number };
      };
      expect(metrics.forward.forwarded).toBeGreaterThan(0);
      expect(metrics.forward.dropped).toBe(0);
    }, 180_000);

    it("with NATS JetStream as the destination, batches reach the store once through an ingest worker; with nats-server stopped mid-run the agent posts to the console, nothing lost or doubled", async () => {
      const nats = await new NatsServer().start();
      cleanups.push(() => nats.cleanup());
      const natsUrl = `${nats.url}/kernflow.flows`;
      const stopIngest = new AbortController();
      const stats = emptyNatsIngestStats();
      const ingest = runNatsIngest(
        { db: consoleServer.database.prisma, flowStore: consoleServer.flowStore },
        { url: natsUrl, log: () => {} },
        stopIngest.signal,
        stats,
      );
      cleanups.push(async () => {
        stopIngest.abort();
        await ingest.catch(() => {});
      });

      const { link, stateDir, deviceId } = await enrolledAgent(natsUrl);
      const agent = AgentProcess.start(["run", "--state-dir", stateDir]);
      cleanups.push(() => agent.stop());
      await agent.waitFor(`attached to ${link.outer} `, 30_000);
      const before = counters(link.outer);

      await udpBurst(link, 20);
      await agent.waitFor(`publishing flow batches to ${natsUrl}`, 30_000);
      await until("the ingest worker stored a batch from NATS", () => stats.batches_stored > 0, 30_000);

      await nats.stop();
      const from = agent.lines.length;
      await udpBurst(link, 20);
      await agent.waitFor("posting flow batches to the console meanwhile", 30_000, from);

      await nats.start();
      expect(await agent.stop()).toBe(0);
      const { tx } = await expectStoredEqualsKernel(deviceId, link.outer, before);
      expect(tx).toBeGreaterThanOrEqual(40);
      const stopped = agent.lines.find((l) => l.text.includes("stopped:"))?.text ?? "";
      expect(stopped).toMatch(/batch\(es\) through NATS/);
      // Some came through the worker, the rest (sent while NATS was down) over HTTP.
      const stored = await consoleServer.storedTotals(deviceId);
      expect(stats.records_stored).toBeGreaterThan(0);
      expect(stored.records).toBeGreaterThan(stats.records_stored);
    }, 240_000);
  },
);
