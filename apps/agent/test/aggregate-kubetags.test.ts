// The aggregator following the real kubetags role, which watches the Kubernetes API stand-in (the
// list/watch protocol over real HTTP; no real API server can run here): Kubernetes metadata on both ends,
// by container id and by address, and a pod created while running.
import { emptyEndpoint, type FlowRecord } from "@kernflow/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadKubeConfig } from "../src/kube/kubeconfig";
import { type KubetagsRole, startKubetags } from "../src/roles/kubetags";
import { sampleRecord } from "../src/sinks/fixtures.test-support";
import { ConsoleStandIn, eventually, postBatch, startAggregator } from "./aggregate-support";
import { KubeApiStandin } from "./support/kube-api-standin";
import { containerIdOf, node, pod, workload } from "./support/kube-api-standin-objects";

const cred = "k".repeat(40);
let standin: KubeApiStandin;
let kubetags: KubetagsRole;

beforeAll(async () => {
  standin = await KubeApiStandin.start();
  standin.apply(node("node-a", "10.0.0.10"));
  standin.apply(node("node-b", "10.0.0.11"));
  standin.apply(workload("Deployment", "checkout", "shop"));
  standin.apply(workload("ReplicaSet", "checkout-7d9f", "shop", { kind: "Deployment", name: "checkout" }));
  standin.apply(
    pod({
      name: "checkout-7d9f-x8k2p",
      namespace: "shop",
      node: "node-a",
      ips: ["10.244.1.5"],
      labels: { app: "checkout" },
      owner: { kind: "ReplicaSet", name: "checkout-7d9f" },
      containers: ["app", "envoy"],
    }),
  );
  standin.apply(workload("StatefulSet", "orders-db", "shop"));
  standin.apply(
    pod({
      name: "orders-db-0",
      namespace: "shop",
      node: "node-b",
      ips: ["10.244.2.7"],
      labels: { app: "orders-db" },
      owner: { kind: "StatefulSet", name: "orders-db" },
    }),
  );
  kubetags = await startKubetags({
    kubeConfig: loadKubeConfig(standin.kubeconfigFile(), {}),
    host: "127.0.0.1",
    port: 0,
    informer: { restartDelayMs: 50 },
  });
}, 60_000);

afterAll(async () => {
  await kubetags?.stop();
  await standin?.stop();
});

function record(srcAddr: string, dstAddr: string, srcContainer: string | null): FlowRecord {
  const now = new Date().toISOString();
  return sampleRecord({
    ts_start: now,
    ts_end: now,
    src_addr: srcAddr,
    dst_addr: dstAddr,
    src_port: 41_000,
    dst_port: 5432,
    bytes: 500,
    rtt_us: null,
    src: { ...emptyEndpoint(), pid: 5, process_name: "checkout", container_id: srcContainer },
  });
}

describe("aggregate with the real kubetags (Kubernetes API stand-in)", () => {
  it("names both ends' pod, workload, node and container, and learns a pod created while running", async () => {
    const console = await new ConsoleStandIn(new Set([cred])).start();
    const agg = await startAggregator({
      serverUrl: console.url,
      kubetagsUrl: `http://127.0.0.1:${kubetags.address.port}`,
      clusterId: "standin",
      joinWindowMs: 0,
      maxEntries: 1_000,
    });
    const { url, metrics } = agg;
    try {
      for (const deadline = Date.now() + 20_000; ; ) {
        const k = (await metrics()).kubetags;
        if (k !== null && k.containers >= 3 && k.ips >= 4) break;
        if (Date.now() > deadline) throw new Error(`kubetags not synced: ${JSON.stringify(k)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const envoy = containerIdOf("checkout-7d9f-x8k2p", "envoy");
      await postBatch(url, cred, {
        batch_id: crypto.randomUUID(),
        records: [record("10.244.1.5", "10.244.2.7", envoy)],
      });
      await eventually("the record", () => console.records.length === 1);
      const first = console.records[0] as FlowRecord;
      expect(first.src).toMatchObject({
        pid: 5,
        container_id: envoy,
        container_name: "envoy",
        object_name: "checkout-7d9f-x8k2p",
        object_namespace: "shop",
        object_type: "pod",
        workload_name: "checkout",
        workload_namespace: "shop",
        node: "node-a",
        object_labels: { app: "checkout" },
      });
      expect(first.dst).toMatchObject({
        object_name: "orders-db-0",
        object_type: "pod",
        workload_name: "orders-db",
        node: "node-b",
        object_labels: { app: "orders-db" },
      });
      expect(first.cluster_id).toBe("standin");

      standin.apply(
        pod({
          name: "late-0",
          namespace: "jobs",
          node: "node-b",
          ips: ["10.244.2.99"],
          labels: { app: "late" },
        }),
      );
      for (const deadline = Date.now() + 20_000; ((await metrics()).kubetags?.ips ?? 0) < 5; ) {
        if (Date.now() > deadline) throw new Error("the new pod never reached the aggregator");
        await new Promise((r) => setTimeout(r, 100));
      }
      await postBatch(url, cred, {
        batch_id: crypto.randomUUID(),
        records: [record("10.244.1.5", "10.244.2.99", null)],
      });
      await eventually("the second record", () => console.records.length === 2);
      expect(console.records[1]?.dst).toMatchObject({
        object_name: "late-0",
        object_namespace: "jobs",
        node: "node-b",
      });
      // Without a container id, the source end is found by its address.
      expect(console.records[1]?.src).toMatchObject({
        object_name: "checkout-7d9f-x8k2p",
        container_name: null,
      });
    } finally {
      await agg.stop();
      await console.stop();
    }
  }, 90_000);
});
