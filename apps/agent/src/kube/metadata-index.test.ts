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
});
