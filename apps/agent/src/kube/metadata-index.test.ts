import { describe, expect, it } from "vitest";
import { KubeMetadataIndex } from "./metadata-index";
import { type SlimPod, stubOf } from "./objects";

function pod(name: string, ip: string, extra: { phase?: string; hostNetwork?: boolean } = {}): SlimPod {
  return {
    metadata: { name, namespace: "ns", uid: `uid-${name}`, labels: { app: name } },
    spec: { nodeName: "node-a", ...(extra.hostNetwork ? { hostNetwork: true } : {}) },
    status: {
      phase: extra.phase ?? "Running",
      podIP: ip,
      podIPs: [{ ip }],
      containerStatuses: [{ name: "app", containerID: `containerd://${name.padEnd(64, "0")}` }],
    },
  };
}

describe("KubeMetadataIndex", () => {
  it("keeps an IP mapped to the pod that took it over when the pod that had it is deleted", () => {
    const index = new KubeMetadataIndex();
    index.upsertPod(pod("old", "10.1.0.5"));
    index.upsertPod(pod("new", "10.1.0.5"));
    index.deletePod(stubOf(pod("old", "10.1.0.5")));
    expect(index.snapshot().ips.map((e) => [e.ip, e.name])).toEqual([["10.1.0.5", "new"]]);
    expect(index.snapshot().containers.map((c) => c.pod)).toEqual(["new"]);
  });

  it("maps no IP for host-network or finished pods, but keeps their containers", () => {
    const index = new KubeMetadataIndex();
    index.upsertPod(pod("hostnet", "10.0.0.10", { hostNetwork: true }));
    index.upsertPod(pod("done", "10.1.0.6", { phase: "Succeeded" }));
    expect(index.snapshot().ips).toEqual([]);
    expect(
      index
        .snapshot()
        .containers.map((c) => c.pod)
        .sort(),
    ).toEqual(["done", "hostnet"]);
  });

  it("does not advance the version for an update that changes nothing it serves", () => {
    const index = new KubeMetadataIndex();
    index.upsertPod(pod("a", "10.1.0.7"));
    const version = index.version;
    index.upsertPod(pod("a", "10.1.0.7"));
    expect(index.version).toBe(version);
    index.upsertPod({
      ...pod("a", "10.1.0.7"),
      metadata: { name: "a", namespace: "ns", labels: { app: "b" } },
    });
    expect(index.version).toBe(version + 1);
  });

  it("shares one label set, workload and namespace among the pods of one ReplicaSet", () => {
    const index = new KubeMetadataIndex();
    const owned = (name: string, ip: string): SlimPod => {
      const base = pod(name, ip);
      return {
        ...base,
        metadata: {
          ...base.metadata,
          // Equal but distinct objects and strings, as each pod's own JSON parses to.
          namespace: ["n", "s"].join(""),
          labels: { app: "web", "pod-template-hash": "5f7b" },
          ownerReferences: [{ kind: "ReplicaSet", name: "web-5f7b", controller: true }],
        },
      };
    };
    index.upsertPod(owned("web-5f7b-a", "10.1.0.8"));
    index.upsertPod(owned("web-5f7b-b", "10.1.0.9"));
    const [a, b] = index.snapshot().ips;
    expect(a?.workload).toEqual({ kind: "Deployment", name: "web", namespace: "ns" });
    expect(a?.labels).toBe(b?.labels);
    expect(a?.workload).toBe(b?.workload);
    expect(index.snapshot().containers[0]?.labels).toBe(a?.labels);
  });

  it("forgets a deleted pod's owner though its deletion carries only name and namespace", () => {
    const index = new KubeMetadataIndex();
    const owned: SlimPod = {
      ...pod("job-pod", "10.1.0.10"),
      metadata: {
        name: "job-pod",
        namespace: "ns",
        ownerReferences: [{ kind: "Job", name: "nightly-1", controller: true }],
      },
    };
    index.upsertIntermediateOwner("Job", { metadata: { name: "nightly-1", namespace: "ns" } });
    index.upsertPod(owned);
    index.deletePod({ metadata: { name: "job-pod", namespace: "ns" } });
    const version = index.version;
    // The Job gains a CronJob owner: the deleted pod must not come back re-derived.
    index.upsertIntermediateOwner("Job", {
      metadata: {
        name: "nightly-1",
        namespace: "ns",
        ownerReferences: [{ kind: "CronJob", name: "nightly", controller: true }],
      },
    });
    expect(index.version).toBe(version);
    expect(index.snapshot()).toMatchObject({ ips: [], containers: [] });
    // And a new pod of that Job resolves to the CronJob.
    index.upsertPod({ ...owned, metadata: { ...owned.metadata, name: "job-pod-2" } });
    expect(index.snapshot().ips[0]?.workload).toEqual({ kind: "CronJob", name: "nightly", namespace: "ns" });
  });
});
