/**
 * The aggregator against flows captured for real: two "nodes" (network namespaces joined by a veth),
 * each with a "pod" (a nested namespace routed through its node), and a real `kernflow-agent capture`
 * on each node's uplink. A client in pod A talks to a server in pod B; each node's agent ships its
 * records to the aggregator under its own credential, which forwards them to a console stand-in.
 *
 * One kernel hosts both "nodes" here, and the agent's socket tracepoints see every namespace, so an
 * agent would know the process at the far end too (no real node can). Each agent's output is therefore
 * cut down to what its node could know before it is shipped: endpoint metadata only for the processes
 * that run on that node, and the vantage the agent's own rule gives then (`src` when the source address
 * or the source process is local). That is exactly the knowledge the join has to combine.
 */
import { randomUUID } from "node:crypto";
import { type Endpoint, emptyEndpoint, type FlowRecord } from "@kernflow/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AggregateMetrics, AggregateOptions } from "../src/roles/aggregate";
import { ConsoleStandIn, eventually, KubetagsStandIn, postBatch, startAggregator } from "./aggregate-support";
import { kernelTestsUnavailable } from "./capture-harness";
import { startCaptureProcess } from "./support/capture-process";
import { type Netns, NetnsLab, run } from "./support/netns";

const unavailable = kernelTestsUnavailable();
const credA = `node-a-${"x".repeat(40)}`;
const credB = `node-b-${"y".repeat(40)}`;

interface NodeView {
  pids: Set<number>;
  addresses: Set<string>;
}

/** What a real node's agent could have said: only its own processes, and the vantage that follows. */
function asSeenByNode(record: FlowRecord, node: NodeView): FlowRecord {
  const own = (e: Endpoint) => (e.pid !== null && node.pids.has(e.pid) ? e : emptyEndpoint());
  const src = own(record.src);
  const dst = own(record.dst);
  const vantage = node.addresses.has(record.src_addr) || src.pid !== null ? "src" : "dst";
  return { ...record, src, dst, vantage };
}

function startCapture(ns: Netns, ifname: string, device: string) {
  return startCaptureProcess(["--interfaces", ifname, "--interval", "1s", "--device", device], { ns });
}

/** Runs `body` against an aggregator, then stops it and resolves with its final metrics. */
async function withAggregator(
  consoleUrl: string,
  options: Partial<AggregateOptions>,
  body: (url: string) => Promise<void>,
): Promise<AggregateMetrics> {
  const agg = await startAggregator({
    serverUrl: consoleUrl,
    joinWindowMs: 30_000,
    maxEntries: 100_000,
    ...options,
  });
  try {
    await body(agg.url);
  } catch (error) {
    agg.stop().catch(() => {});
    throw error;
  }
  return agg.stop();
}

describe.skipIf(unavailable !== null)("aggregate: two nodes captured on a real kernel", () => {
  let lab: NetnsLab;
  let fromA: FlowRecord[];
  let fromB: FlowRecord[];
  let clientPid: number;
  let serverPid: number;
  let clientPort: number;
  let serverPort: number;
  let podAAddr: string;
  let podBAddr: string;

  beforeAll(async () => {
    lab = await NetnsLab.create();
    const nodeA = await lab.namespace("nodea");
    const nodeB = await lab.namespace("nodeb");
    const podA = await lab.namespace("poda");
    const podB = await lab.namespace("podb");
    const uplink = await lab.veth(nodeA, nodeB);
    const wireA = await lab.veth(podA, nodeA);
    const wireB = await lab.veth(podB, nodeB);
    podAAddr = wireA.a.ipv4;
    podBAddr = wireB.a.ipv4;
    // Pods reach the other node's pods through their node, as a CNI's routes do.
    for (const [pod, wire] of [
      [podA, wireA],
      [podB, wireB],
    ] as const)
      await run(["ip", "-n", pod.name, "route", "add", "default", "via", wire.b.ipv4]);
    for (const node of [nodeA, nodeB]) await node.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    await run(["ip", "-n", nodeA.name, "route", "add", `${podBAddr}/32`, "via", uplink.b.ipv4]);
    await run(["ip", "-n", nodeB.name, "route", "add", `${podAAddr}/32`, "via", uplink.a.ipv4]);

    const agentA = await startCapture(nodeA, uplink.a.ifname, "node-a");
    const agentB = await startCapture(nodeB, uplink.b.ifname, "node-b");
    const server = await lab.startServer(podB, {
      protocol: "tcp",
      bind: podBAddr,
      replyBytes: 20_000,
      processName: "kf-pod-server",
    });
    const client = await lab.runClient(podA, {
      protocol: "tcp",
      addr: podBAddr,
      port: server.port,
      bytes: 50_000,
      processName: "kf-pod-client",
    });
    await server.waitForEvents(1);
    clientPid = client.pid;
    serverPid = server.pid;
    clientPort = client.local_port;
    serverPort = server.port;
    await new Promise((r) => setTimeout(r, 300));
    const rawA = await agentA.stop();
    const rawB = await agentB.stop();
    const conversation = (r: FlowRecord) =>
      r.protocol === 6 &&
      ((r.src_port === clientPort && r.dst_port === serverPort) ||
        (r.src_port === serverPort && r.dst_port === clientPort));
    fromA = rawA
      .filter(conversation)
      .map((r) => asSeenByNode(r, { pids: new Set([clientPid]), addresses: new Set([uplink.a.ipv4]) }));
    fromB = rawB
      .filter(conversation)
      .map((r) => asSeenByNode(r, { pids: new Set([serverPid]), addresses: new Set([uplink.b.ipv4]) }));
  }, 120_000);

  afterAll(async () => {
    await lab?.cleanup();
  });

  it("each node saw both directions and knew only its own pod's process", () => {
    const out = (r: FlowRecord) => r.src_port === clientPort;
    expect(fromA.filter(out).every((r) => r.vantage === "src" && r.src.pid === clientPid)).toBe(true);
    expect(fromA.filter((r) => !out(r)).every((r) => r.vantage === "dst" && r.dst.pid === clientPid)).toBe(
      true,
    );
    expect(fromB.filter(out).every((r) => r.vantage === "dst" && r.dst.pid === serverPid)).toBe(true);
    expect(fromB.filter((r) => !out(r)).every((r) => r.vantage === "src" && r.src.pid === serverPid)).toBe(
      true,
    );
    for (const r of [...fromA, ...fromB]) {
      // Before the join nobody knows the far end's process.
      const far = r.vantage === "src" ? r.dst : r.src;
      expect(far.pid).toBeNull();
    }
    expect(fromA.filter(out).length).toBeGreaterThan(0);
    expect(fromA.filter((r) => !out(r)).length).toBeGreaterThan(0);
    expect(fromB.filter(out).length).toBeGreaterThan(0);
    expect(fromB.filter((r) => !out(r)).length).toBeGreaterThan(0);
  });

  it("forwards every record of both nodes with both ends' process and pod metadata, both sides kept", async () => {
    const console = await new ConsoleStandIn(new Set([credA, credB])).start();
    const pod = (ip: string, name: string, node: string) => ({
      ip,
      kind: "pod" as const,
      name,
      namespace: "lab",
      node,
      labels: { app: name },
      workload: { kind: "Deployment", name: `${name}-deploy`, namespace: "lab" },
    });
    const kubetags = await new KubetagsStandIn(
      [pod(podAAddr, "client-pod", "node-a"), pod(podBAddr, "server-pod", "node-b")],
      [],
    ).start();
    try {
      const metrics = await withAggregator(
        console.url,
        { kubetagsUrl: kubetags.url, clusterId: "lab-cluster" },
        async (url) => {
          await eventually("the kubetags snapshot", () => kubetags.snapshots > 0);
          expect((await postBatch(url, credA, { batch_id: randomUUID(), records: fromA })).status).toBe(200);
          expect((await postBatch(url, credB, { batch_id: randomUUID(), records: fromB })).status).toBe(200);
          await eventually(
            "every record forwarded",
            () => console.records.length === fromA.length + fromB.length,
          );
        },
      );
      expect(metrics.join).toMatchObject({ joined: fromA.length + fromB.length, unjoined: 0, evicted: 0 });
      const forwarded = console.records;
      expect(forwarded.filter((r) => r.credential === credA)).toHaveLength(fromA.length);
      expect(forwarded.filter((r) => r.credential === credB)).toHaveLength(fromB.length);
      expect(forwarded.filter((r) => r.credential === credA).every((r) => r.device === "node-a")).toBe(true);
      for (const r of forwarded) {
        const clientEnd = r.src_port === clientPort ? r.src : r.dst;
        const serverEnd = r.src_port === clientPort ? r.dst : r.src;
        expect(clientEnd).toMatchObject({
          pid: clientPid,
          process_name: "kf-pod-client",
          object_name: "client-pod",
          object_type: "pod",
          node: "node-a",
          workload_name: "client-pod-deploy",
        });
        expect(serverEnd).toMatchObject({
          pid: serverPid,
          process_name: "kf-pod-server",
          object_name: "server-pod",
          node: "node-b",
        });
        expect(r.cluster_id).toBe("lab-cluster");
      }
      // Both observations of each direction are kept: one from each node.
      for (const outbound of [true, false]) {
        const devices = new Set(
          forwarded.filter((r) => (r.src_port === clientPort) === outbound).map((r) => r.device),
        );
        expect(devices).toEqual(new Set(["node-a", "node-b"]));
      }
    } finally {
      await kubetags.stop();
      await console.stop();
    }
  });

  it("forwards a node's records unjoined when the other node's come after the join window", async () => {
    const console = await new ConsoleStandIn(new Set([credA, credB])).start();
    try {
      const metrics = await withAggregator(console.url, { joinWindowMs: 500 }, async (url) => {
        await postBatch(url, credA, { batch_id: randomUUID(), records: fromA });
        await eventually(
          "node A's records forwarded unjoined",
          () => console.records.length === fromA.length,
        );
        await postBatch(url, credB, { batch_id: randomUUID(), records: fromB });
        await eventually(
          "node B's records forwarded",
          () => console.records.length === fromA.length + fromB.length,
        );
      });
      expect(metrics.join).toMatchObject({ joined: 0, unjoined: fromA.length + fromB.length });
      for (const r of console.records) expect((r.vantage === "src" ? r.dst : r.src).pid).toBeNull();
    } finally {
      await console.stop();
    }
  });

  it("never holds more records than --max-entries, forwarding the oldest early", async () => {
    const console = await new ConsoleStandIn(new Set([credA, credB])).start();
    let maxHeld = 0;
    try {
      const metrics = await withAggregator(console.url, { maxEntries: 2 }, async (url) => {
        const watch = setInterval(async () => {
          const m = (await (await fetch(`${url}/metrics`)).json()) as AggregateMetrics;
          maxHeld = Math.max(maxHeld, m.join.held);
        }, 5);
        try {
          await postBatch(url, credA, { batch_id: randomUUID(), records: fromA });
          await postBatch(url, credB, { batch_id: randomUUID(), records: fromB });
        } finally {
          clearInterval(watch);
        }
        const m = (await (await fetch(`${url}/metrics`)).json()) as AggregateMetrics;
        expect(m.join.held).toBeLessThanOrEqual(2);
      });
      expect(maxHeld).toBeLessThanOrEqual(2);
      const total = fromA.length + fromB.length;
      expect(metrics.join.evicted).toBeGreaterThan(0);
      expect(metrics.join.joined + metrics.join.unjoined + metrics.join.evicted).toBe(total);
      expect(metrics.forward.forwarded).toBe(total);
      expect(console.records).toHaveLength(total);
    } finally {
      await console.stop();
    }
  });
});
