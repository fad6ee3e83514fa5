import { kubeChangesSchema, kubeSnapshotSchema, kubetagsPaths } from "@kernflow/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { serveKubetags } from "./http-server";
import { KubeMetadataIndex } from "./metadata-index";
import type { SlimPod } from "./objects";

function pod(i: number, version: string): SlimPod {
  const name = `web-${i}`;
  return {
    metadata: { name, namespace: "ns", uid: `uid-${i}`, labels: { app: "web", version } },
    spec: { nodeName: `node-${i % 7}` },
    status: {
      phase: "Running",
      podIP: `10.1.${i >> 8}.${i & 255}`,
      containerStatuses: [
        { name: "app", containerID: `containerd://${String(i).padStart(64, "a")}` },
        { name: "sidecar", containerID: `containerd://${String(i).padStart(64, "b")}` },
      ],
    },
  };
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function serve(index: KubeMetadataIndex): Promise<string> {
  const health = () => ({
    ok: true,
    epoch: index.epoch,
    version: index.version,
    ips: 0,
    containers: 0,
    informers: [],
  });
  const metrics = () => ({ ...health(), apply: {}, rss_bytes: 0, heap_used_bytes: 0 });
  const { server, address } = await serveKubetags({ index, health, metrics }, "127.0.0.1", 0);
  stops.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${address.port}`;
}

describe("kubetags HTTP server", () => {
  it("streams a snapshot of thousands of entries that parses to exactly the index's snapshot", async () => {
    const index = new KubeMetadataIndex();
    for (let i = 0; i < 2_345; i++) index.upsertPod(pod(i, "v1"));
    const base = await serve(index);
    const res = await fetch(base + kubetagsPaths.snapshot);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const body = kubeSnapshotSchema.parse(await res.json());
    expect(body).toEqual(index.snapshot());
    expect(body.ips).toHaveLength(2_345);
    expect(body.containers).toHaveLength(4_690);
  });

  it("streams large changes (upserts and removals) that parse to exactly the index's changes", async () => {
    const index = new KubeMetadataIndex();
    for (let i = 0; i < 1_500; i++) index.upsertPod(pod(i, "v1"));
    const since = index.version;
    for (let i = 0; i < 1_200; i++) index.upsertPod(pod(i, "v2"));
    for (let i = 1_200; i < 1_500; i++) index.deletePod({ metadata: { name: `web-${i}`, namespace: "ns" } });
    const base = await serve(index);
    const res = await fetch(`${base}${kubetagsPaths.changes}?epoch=${index.epoch}&since=${since}`);
    const body = kubeChangesSchema.parse(await res.json());
    expect(body).toEqual(index.changesSince(index.epoch, since));
    expect(body.containers.upserted).toHaveLength(2_400);
    expect(body.containers.removed).toHaveLength(600);
  });
});
