import {
  type KubeIpEntry,
  kubeChangesSchema,
  kubeSnapshotSchema,
  kubetagsHealthSchema,
  kubetagsPaths,
} from "@kernflow/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadKubeConfig } from "../src/kube/kubeconfig";
import { type KubetagsRole, startKubetags } from "../src/roles/kubetags";
import { KubeApiStandin } from "./support/kube-api-standin";
import { containerIdOf, node, pod, service, workload } from "./support/kube-api-standin-objects";

let standin: KubeApiStandin;
let role: KubetagsRole | null = null;

beforeEach(async () => {
  standin = await KubeApiStandin.start();
});

afterEach(async () => {
  await role?.stop();
  role = null;
  await standin.stop();
});

async function start(
  options: { pageSize?: number; maxTombstones?: number; resyncMs?: number; watchIdleTimeoutMs?: number } = {},
) {
  const kubeConfig = loadKubeConfig(standin.kubeconfigFile(), {});
  role = await startKubetags({
    kubeConfig,
    host: "127.0.0.1",
    port: 0,
    informer: {
      restartDelayMs: 50,
      pageSize: options.pageSize ?? 500,
      ...(options.watchIdleTimeoutMs === undefined ? {} : { watchIdleTimeoutMs: options.watchIdleTimeoutMs }),
    },
    ...(options.maxTombstones === undefined ? {} : { maxTombstones: options.maxTombstones }),
    ...(options.resyncMs === undefined ? {} : { resyncMs: options.resyncMs }),
  });
  return role;
}

const base = () => `http://127.0.0.1:${(role as KubetagsRole).address.port}`;
async function getJson(path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(base() + path);
  return { status: res.status, body: await res.json() };
}
async function snapshot() {
  return kubeSnapshotSchema.parse((await getJson(kubetagsPaths.snapshot)).body);
}
async function ipEntry(ip: string): Promise<KubeIpEntry | undefined> {
  return (await snapshot()).ips.find((e) => e.ip === ip);
}
async function eventually<T>(probe: () => Promise<T>, accept: (v: T) => boolean, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  let last: T = await probe();
  while (!accept(last)) {
    if (Date.now() > until)
      throw new Error(`condition not met in ${ms} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 25));
    last = await probe();
  }
  return last;
}
const healthy = () =>
  eventually(
    async () => (await getJson(kubetagsPaths.health)).status,
    (s) => s === 200,
  );

/** A small cluster with every owner chain kubetags resolves. */
function seedCluster(): void {
  standin.apply(node("node-a", "10.0.0.10"));
  standin.apply(node("node-b", "10.0.0.11"));
  standin.apply(workload("Deployment", "checkout", "shop"));
  standin.apply(
    workload("ReplicaSet", "checkout-7d9f8b6c5d", "shop", { kind: "Deployment", name: "checkout" }),
  );
  standin.apply(
    pod({
      name: "checkout-7d9f8b6c5d-x8k2p",
      namespace: "shop",
      node: "node-a",
      ips: ["10.244.1.5", "fd00:10:244:1::5"],
      labels: { app: "checkout", "pod-template-hash": "7d9f8b6c5d" },
      owner: { kind: "ReplicaSet", name: "checkout-7d9f8b6c5d" },
      containers: ["app", "envoy"],
      initContainers: ["migrate"],
    }),
  );
  standin.apply(workload("StatefulSet", "orders-db", "shop"));
  standin.apply(
    pod({
      name: "orders-db-0",
      namespace: "shop",
      node: "node-b",
      ips: ["10.244.2.7"],
      owner: { kind: "StatefulSet", name: "orders-db" },
      runtime: "cri-o",
    }),
  );
  standin.apply(workload("DaemonSet", "kube-proxy", "kube-system"));
  standin.apply(
    pod({
      name: "kube-proxy-h2x9c",
      namespace: "kube-system",
      node: "node-a",
      ips: ["10.0.0.10"],
      hostNetwork: true,
      owner: { kind: "DaemonSet", name: "kube-proxy" },
    }),
  );
  standin.apply(workload("CronJob", "nightly-report", "ops"));
  standin.apply(
    workload("Job", "nightly-report-29001234", "ops", { kind: "CronJob", name: "nightly-report" }),
  );
  standin.apply(
    pod({
      name: "nightly-report-29001234-qq7rt",
      namespace: "ops",
      node: "node-b",
      ips: ["10.244.2.9"],
      owner: { kind: "Job", name: "nightly-report-29001234" },
    }),
  );
  standin.apply(pod({ name: "debug", namespace: "default", node: "node-a", ips: ["10.244.1.99"] }));
  standin.apply(pod({ name: "waiting", namespace: "default", node: "node-b" }));
  standin.apply(service("checkout", "shop", ["10.96.12.34"]));
  standin.apply(service("orders-db", "shop", "None"));
}

describe("kubetags against the stand-in API server", () => {
  it("syncs pods, services and nodes with paged lists and resolves every owner chain", async () => {
    seedCluster();
    await start({ pageSize: 2 });
    await healthy();
    const snap = await snapshot();

    const checkout = snap.ips.find((e) => e.ip === "10.244.1.5");
    expect(checkout).toEqual({
      ip: "10.244.1.5",
      kind: "pod",
      name: "checkout-7d9f8b6c5d-x8k2p",
      namespace: "shop",
      node: "node-a",
      labels: { app: "checkout", "pod-template-hash": "7d9f8b6c5d" },
      workload: { kind: "Deployment", name: "checkout", namespace: "shop" },
    });
    expect(snap.ips.find((e) => e.ip === "fd00:10:244:1::5")?.name).toBe("checkout-7d9f8b6c5d-x8k2p");
    expect((await ipEntry("10.244.2.7"))?.workload).toEqual({
      kind: "StatefulSet",
      name: "orders-db",
      namespace: "shop",
    });
    expect((await ipEntry("10.244.2.9"))?.workload).toEqual({
      kind: "CronJob",
      name: "nightly-report",
      namespace: "ops",
    });
    expect((await ipEntry("10.244.1.99"))?.workload).toEqual({
      kind: "Pod",
      name: "debug",
      namespace: "default",
    });
    // The host-network pod's IP is the node's: it maps to the node, never to the pod.
    expect(snap.ips.find((e) => e.ip === "10.0.0.10")).toMatchObject({ kind: "node", name: "node-a" });
    expect(snap.ips.filter((e) => e.name === "kube-proxy-h2x9c")).toEqual([]);
    expect(snap.ips.find((e) => e.ip === "10.96.12.34")).toMatchObject({
      kind: "service",
      name: "checkout",
      namespace: "shop",
      workload: null,
    });
    expect(snap.ips.some((e) => e.ip === "None")).toBe(false);
    // 2 nodes + 2 checkout IPs + orders-db + report + debug + 1 service; the pending pod has no IP yet.
    expect(snap.ips).toHaveLength(8);

    const envoy = snap.containers.find(
      (c) => c.container_id === containerIdOf("checkout-7d9f8b6c5d-x8k2p", "envoy"),
    );
    expect(envoy).toMatchObject({
      container: "envoy",
      pod: "checkout-7d9f8b6c5d-x8k2p",
      namespace: "shop",
      node: "node-a",
      labels: { app: "checkout", "pod-template-hash": "7d9f8b6c5d" },
      workload: { kind: "Deployment", name: "checkout", namespace: "shop" },
    });
    expect(snap.containers.map((c) => c.container)).toContain("migrate");
    // cri-o://<id> is stripped like containerd://<id>.
    expect(snap.containers.find((c) => c.pod === "orders-db-0")?.container_id).toBe(
      containerIdOf("orders-db-0", "app"),
    );
    expect(snap.containers.find((c) => c.pod === "kube-proxy-h2x9c")?.workload.kind).toBe("DaemonSet");
    expect(snap.containers.some((c) => c.pod === "waiting")).toBe(false);

    const podLists = standin.requests.filter((r) => r.path === "/api/v1/pods" && r.query.watch === undefined);
    // 6 pods in pages of 2.
    expect(podLists.length).toBe(3);
    expect(podLists[0]?.query.limit).toBe("2");
    expect(podLists.slice(1).every((r) => r.query.continue !== undefined)).toBe(true);
    const health = kubetagsHealthSchema.parse((await getJson(kubetagsPaths.health)).body);
    expect(health.informers.map((i) => i.resource).sort()).toEqual([
      "cronjobs",
      "daemonsets",
      "deployments",
      "jobs",
      "nodes",
      "pods",
      "replicasets",
      "services",
      "statefulsets",
    ]);
    expect(health.informers.find((i) => i.resource === "pods")?.objects).toBe(6);
  });

  it("applies watched adds, updates and deletes and serves them as changes since a version", async () => {
    seedCluster();
    await start();
    await healthy();
    const { epoch, version } = await snapshot();

    expect((await snapshot()).containers.some((c) => c.pod === "waiting")).toBe(false);
    // The pending pod starts: it gets an IP and a container id.
    standin.apply(pod({ name: "waiting", namespace: "default", node: "node-b", ips: ["10.244.2.50"] }));
    const first = kubeChangesSchema.parse(
      (await getJson(`${kubetagsPaths.changes}?epoch=${epoch}&since=${version}&wait_ms=5000`)).body,
    );
    expect(first.ips.upserted.map((e) => e.ip)).toEqual(["10.244.2.50"]);
    expect(first.containers.upserted.map((c) => c.pod)).toEqual(["waiting"]);
    expect(first.ips.removed).toEqual([]);

    standin.remove("Pod", "default", "debug");
    standin.apply(service("checkout", "shop", ["10.96.99.1"]));
    const second = await eventually(
      async () =>
        kubeChangesSchema.parse(
          (await getJson(`${kubetagsPaths.changes}?epoch=${epoch}&since=${first.version}&wait_ms=2000`)).body,
        ),
      (c) => c.ips.removed.length === 2,
    );
    expect(second.ips.removed.sort()).toEqual(["10.244.1.99", "10.96.12.34"]);
    expect(second.ips.upserted.map((e) => e.ip)).toEqual(["10.96.99.1"]);
    expect(second.containers.removed).toEqual([containerIdOf("debug", "app")]);
    const snap = await snapshot();
    expect(snap.version).toBe(second.version);
    expect(snap.ips.some((e) => e.ip === "10.244.1.99")).toBe(false);
  });

  it("re-resolves a pod's workload when its ReplicaSet or Job arrives after it", async () => {
    await start();
    await healthy();
    // No pod-template-hash label: nothing to guess the Deployment from until the ReplicaSet is seen.
    standin.apply(
      pod({
        name: "api-5c4f9-abcde",
        namespace: "web",
        node: "node-a",
        ips: ["10.244.1.40"],
        labels: { app: "api" },
        owner: { kind: "ReplicaSet", name: "api-5c4f9" },
      }),
    );
    standin.apply(
      pod({
        name: "backup-1-zz",
        namespace: "web",
        node: "node-a",
        ips: ["10.244.1.41"],
        owner: { kind: "Job", name: "backup-1" },
      }),
    );
    await eventually(
      () => ipEntry("10.244.1.40"),
      (e) => e?.workload?.kind === "ReplicaSet",
    );
    expect((await ipEntry("10.244.1.41"))?.workload?.kind).toBe("Job");
    standin.apply(workload("ReplicaSet", "api-5c4f9", "web", { kind: "Deployment", name: "api" }));
    standin.apply(workload("Job", "backup-1", "web", { kind: "CronJob", name: "backup" }));
    const api = await eventually(
      () => ipEntry("10.244.1.40"),
      (e) => e?.workload?.kind === "Deployment",
    );
    expect(api?.workload).toEqual({ kind: "Deployment", name: "api", namespace: "web" });
    const backup = await eventually(
      () => ipEntry("10.244.1.41"),
      (e) => e?.workload?.kind === "CronJob",
    );
    expect(backup?.workload).toEqual({ kind: "CronJob", name: "backup", namespace: "web" });
    const containers = (await snapshot()).containers.filter((c) => c.pod === "api-5c4f9-abcde");
    expect(containers.map((c) => c.workload.kind)).toEqual(["Deployment"]);
  });

  it("relists after a watch ERROR 410 Gone and converges on events it never saw", async () => {
    seedCluster();
    await start();
    await healthy();
    // A partition: the server moves on while the client hears nothing, then the history is compacted.
    standin.deliverEvents = false;
    standin.remove("Pod", "default", "debug");
    standin.apply(pod({ name: "late", namespace: "default", node: "node-a", ips: ["10.244.1.77"] }));
    standin.compact();
    standin.deliverEvents = true;
    standin.expireWatches();

    await eventually(
      () => ipEntry("10.244.1.77"),
      (e) => e?.name === "late",
    );
    expect(await ipEntry("10.244.1.99")).toBeUndefined();
    const health = kubetagsHealthSchema.parse((await getJson(kubetagsPaths.health)).body);
    const pods = health.informers.find((i) => i.resource === "pods");
    expect(pods?.gone).toBeGreaterThanOrEqual(1);
    expect(pods?.lists).toBeGreaterThanOrEqual(2);
    // 6 seeded, one deleted and one added while partitioned.
    expect(pods?.objects).toBe(6);
    expect(health.ok).toBe(true);
  });

  it("resyncs by relisting, which repairs a deletion and an update whose events were lost", async () => {
    seedCluster();
    await start({ resyncMs: 300 });
    await healthy();
    // Events lost without any 410: only the periodic resync can notice.
    standin.deliverEvents = false;
    standin.remove("Pod", "default", "debug");
    standin.apply(service("checkout", "shop", ["10.96.77.7"]));
    standin.deliverEvents = true;
    await eventually(
      () => ipEntry("10.96.77.7"),
      (e) => e?.name === "checkout",
    );
    await eventually(
      () => ipEntry("10.244.1.99"),
      (e) => e === undefined,
    );
    expect(await ipEntry("10.96.12.34")).toBeUndefined();
    const health = kubetagsHealthSchema.parse((await getJson(kubetagsPaths.health)).body);
    expect(health.ok).toBe(true);
    expect(health.informers.find((i) => i.resource === "pods")?.failing).toBe(false);
    expect(health.informers.find((i) => i.resource === "pods")?.objects).toBe(5);
  });

  it("restarts a list whose continue token expired (HTTP 410) and converges", async () => {
    seedCluster();
    let compacted = false;
    standin.afterListPage = (path) => {
      if (path === "/api/v1/pods" && !compacted) {
        compacted = true;
        standin.apply(
          pod({ name: "between-pages", namespace: "default", node: "node-a", ips: ["10.244.1.88"] }),
        );
        standin.compact();
      }
    };
    await start({ pageSize: 2 });
    await healthy();
    expect((await ipEntry("10.244.1.88"))?.name).toBe("between-pages");
    const expired = standin.requests.filter(
      (r) => r.path === "/api/v1/pods" && r.query.continue !== undefined,
    );
    expect(expired.length).toBeGreaterThanOrEqual(1);
    const pods = kubetagsHealthSchema
      .parse((await getJson(kubetagsPaths.health)).body)
      .informers.find((i) => i.resource === "pods");
    expect(pods?.lists).toBeGreaterThanOrEqual(2);
    expect(pods?.last_error).toMatch(/410/);
  });

  it("reconnects from its last resourceVersion when the server ends watch streams, without relisting", async () => {
    seedCluster();
    await start();
    await healthy();
    const before = kubetagsHealthSchema
      .parse((await getJson(kubetagsPaths.health)).body)
      .informers.find((i) => i.resource === "pods");
    const rvBefore = standin.resourceVersion;
    standin.closeWatches();
    standin.apply(pod({ name: "after-close", namespace: "default", node: "node-a", ips: ["10.244.1.60"] }));
    await eventually(
      () => ipEntry("10.244.1.60"),
      (e) => e?.name === "after-close",
    );
    const after = kubetagsHealthSchema
      .parse((await getJson(kubetagsPaths.health)).body)
      .informers.find((i) => i.resource === "pods");
    expect(after?.lists).toBe(before?.lists);
    expect(after?.watches).toBeGreaterThan(before?.watches ?? 0);
    const rewatch = standin.requests
      .filter((r) => r.path === "/api/v1/pods" && r.query.watch === "true")
      .at(-1);
    expect(Number(rewatch?.query.resourceVersion)).toBeGreaterThan(0);
    expect(Number(rewatch?.query.resourceVersion)).toBeLessThanOrEqual(rvBefore);
  });

  it("ends a watch that stays silent too long and resumes it without relisting or reporting a failure", async () => {
    seedCluster();
    await start({ watchIdleTimeoutMs: 400 });
    await healthy();
    const pods = async () =>
      kubetagsHealthSchema
        .parse((await getJson(kubetagsPaths.health)).body)
        .informers.find((i) => i.resource === "pods");
    const before = await pods();
    // Nothing is sent (no events, no bookmarks): the stream looks like a dead connection.
    const after = await eventually(pods, (p) => (p?.watches ?? 0) >= (before?.watches ?? 0) + 2, 5_000);
    expect(after?.lists).toBe(before?.lists);
    expect(after?.failing).toBe(false);
    expect(after?.last_error).toMatch(/silent/);
    standin.apply(pod({ name: "after-silence", namespace: "default", node: "node-a", ips: ["10.244.1.61"] }));
    await eventually(
      () => ipEntry("10.244.1.61"),
      (e) => e?.name === "after-silence",
    );
    expect((await getJson(kubetagsPaths.health)).status).toBe(200);
  });

  it("asks for bookmarks and resumes from a bookmark's resourceVersion", async () => {
    seedCluster();
    await start();
    await healthy();
    const watches = standin.requests.filter((r) => r.query.watch === "true");
    expect(watches.length).toBe(9);
    expect(watches.every((w) => w.query.allowWatchBookmarks === "true")).toBe(true);
    // Changes to services move the global resourceVersion past the pods' last event.
    standin.apply(service("a", "default", ["10.96.0.50"]));
    standin.apply(service("b", "default", ["10.96.0.51"]));
    await eventually(
      () => ipEntry("10.96.0.51"),
      (e) => e !== undefined,
    );
    const bookmarkRv = standin.resourceVersion;
    standin.bookmark();
    await new Promise((r) => setTimeout(r, 100));
    standin.closeWatches();
    const resumed = await eventually(
      async () =>
        standin.requests.filter((r) => r.path === "/api/v1/pods" && r.query.watch === "true").at(-1),
      (r) => r !== undefined && r.query.resourceVersion === String(bookmarkRv),
      5_000,
    );
    expect(resumed?.query.resourceVersion).toBe(String(bookmarkRv));
  });

  it("reports failing informers and the last error in /healthz until the API server answers again", async () => {
    seedCluster();
    standin.failRequests("pods", 403);
    await start();
    const failing = await eventually(
      async () => getJson(kubetagsPaths.health),
      (r) => kubetagsHealthSchema.parse(r.body).informers.some((i) => i.last_error !== null),
    );
    expect(failing.status).toBe(503);
    const health = kubetagsHealthSchema.parse(failing.body);
    expect(health.ok).toBe(false);
    const pods = health.informers.find((i) => i.resource === "pods");
    expect(pods).toMatchObject({ synced: false, failing: true });
    expect(pods?.last_error).toMatch(/403/);
    expect(health.informers.find((i) => i.resource === "services")?.failing).toBe(false);

    standin.clearFailures();
    await healthy();
    expect((await ipEntry("10.244.1.5"))?.name).toBe("checkout-7d9f8b6c5d-x8k2p");
    const recovered = kubetagsHealthSchema.parse((await getJson(kubetagsPaths.health)).body);
    expect(recovered.informers.find((i) => i.resource === "pods")).toMatchObject({
      synced: true,
      failing: false,
    });
  });

  it("answers 410 for changes of another epoch or past forgotten deletions, and 400 for a bad query", async () => {
    seedCluster();
    await start({ maxTombstones: 2 });
    await healthy();
    const { epoch, version } = await snapshot();
    expect((await getJson(`${kubetagsPaths.changes}?epoch=other&since=${version}`)).status).toBe(410);
    const bad = await getJson(`${kubetagsPaths.changes}?epoch=${epoch}&since=-1`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/since/);
    for (const name of ["debug", "waiting"]) standin.remove("Pod", "default", name);
    standin.remove("Service", "shop", "checkout");
    standin.remove("Node", undefined, "node-b");
    await eventually(
      async () => (await snapshot()).ips.length,
      (n) => n === 5,
    );
    const gone = await getJson(`${kubetagsPaths.changes}?epoch=${epoch}&since=${version}`);
    expect(gone.status).toBe(410);
    expect(JSON.stringify(gone.body)).toMatch(/snapshot_required/);
  });
});
