import { randomUUID } from "node:crypto";
import type {
  KubeChanges,
  KubeContainerEntry,
  KubeIpEntry,
  KubeSnapshot,
  KubeWorkload,
} from "@kernflow/protocol";
import {
  controllerOf,
  type ObjectStub,
  type OwnerReference,
  type SlimNode,
  type SlimPod,
  type SlimService,
  type SlimWorkloadObject,
  stripRuntimeScheme,
} from "./objects";
import { VersionedMap } from "./versioned-map";

/** Owners whose own controller decides the workload: ReplicaSet → Deployment, Job → CronJob. */
export type IntermediateOwnerKind = "ReplicaSet" | "Job";

interface Claim {
  ips: string[];
  containers: string[];
}

const objectKey = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;
const noLabels: Readonly<Record<string, string>> = Object.freeze({});

/**
 * IP → object and container id → pod maps, derived from the informers' slim objects, versioned so
 * aggregators can fetch only what changed. Every informer event becomes one call here; each call that
 * changes anything advances the version by one.
 */
export class KubeMetadataIndex {
  readonly epoch: string = randomUUID();
  private versionNow = 0;
  private readonly ips: VersionedMap<KubeIpEntry>;
  private readonly containers: VersionedMap<KubeContainerEntry>;
  /** Which object holds each IP now: a later claimant (IP reuse) must not be unmapped by an earlier one's deletion. */
  private readonly ipHolder = new Map<string, string>();
  private readonly claims = new Map<string, Claim>();
  /** ReplicaSet/Job key → its controller (null: it has none). */
  private readonly intermediateOwners = new Map<string, OwnerReference | null>();
  /** ReplicaSet/Job key → keys (`namespace/name`) of the pods it owns, re-derived when it changes. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly listeners = new Set<() => void>();

  /** `maxTombstones`: deletions remembered per map for readers of changes (older ones need a snapshot). */
  constructor({ maxTombstones = 20_000 }: { maxTombstones?: number } = {}) {
    this.ips = new VersionedMap(maxTombstones);
    this.containers = new VersionedMap(maxTombstones);
  }

  get version(): number {
    return this.versionNow;
  }

  get counts(): { ips: number; containers: number } {
    return { ips: this.ips.size, containers: this.containers.size };
  }

  upsertPod(pod: SlimPod): void {
    const namespace = pod.metadata.namespace ?? "";
    const name = pod.metadata.name;
    const ref = controllerOf(pod.metadata);
    this.trackDependent(pod, ref);
    const labels = pod.metadata.labels ?? noLabels;
    const node = pod.spec?.nodeName ?? "";
    const workload = this.resolveWorkload(namespace, name, ref, labels);
    const status = pod.status;
    const ipEntries: KubeIpEntry[] = [];
    // A host-network pod's IP is its node's; finished pods have given their IP back for reuse.
    const holdsIp =
      pod.spec?.hostNetwork !== true && status?.phase !== "Succeeded" && status?.phase !== "Failed";
    if (holdsIp) {
      const addresses = new Set<string>();
      if (status?.podIP) addresses.add(status.podIP);
      for (const { ip } of status?.podIPs ?? []) if (ip) addresses.add(ip);
      for (const ip of addresses)
        ipEntries.push({ ip, kind: "pod", name, namespace, node, labels, workload });
    }
    const containerEntries: KubeContainerEntry[] = [];
    const statuses = [
      ...(status?.initContainerStatuses ?? []),
      ...(status?.containerStatuses ?? []),
      ...(status?.ephemeralContainerStatuses ?? []),
    ];
    for (const c of statuses) {
      // A container not started yet has no id.
      if (!c.containerID) continue;
      containerEntries.push({
        container_id: stripRuntimeScheme(c.containerID),
        container: c.name,
        pod: name,
        pod_uid: pod.metadata.uid ?? "",
        namespace,
        node,
        labels,
        workload,
      });
    }
    this.applyClaim(objectKey("pod", namespace, name), ipEntries, containerEntries);
  }

  deletePod(pod: ObjectStub): void {
    const namespace = pod.metadata.namespace ?? "";
    this.untrackDependent(pod);
    this.applyClaim(objectKey("pod", namespace, pod.metadata.name), [], []);
  }

  upsertService(service: SlimService): void {
    const namespace = service.metadata.namespace ?? "";
    const name = service.metadata.name;
    const labels = service.metadata.labels ?? noLabels;
    const addresses = new Set(service.spec?.clusterIPs ?? []);
    if (service.spec?.clusterIP) addresses.add(service.spec.clusterIP);
    // Headless services have no address of their own ("None"); their endpoints are pods.
    addresses.delete("None");
    addresses.delete("");
    const entries = [...addresses].map(
      (ip): KubeIpEntry => ({ ip, kind: "service", name, namespace, node: "", labels, workload: null }),
    );
    this.applyClaim(objectKey("service", namespace, name), entries, []);
  }

  deleteService(service: ObjectStub): void {
    this.applyClaim(objectKey("service", service.metadata.namespace ?? "", service.metadata.name), [], []);
  }

  upsertNode(node: SlimNode): void {
    const name = node.metadata.name;
    const labels = node.metadata.labels ?? noLabels;
    const addresses = new Set<string>();
    for (const a of node.status?.addresses ?? []) {
      if (a.type === "InternalIP" || a.type === "ExternalIP") addresses.add(a.address);
    }
    const entries = [...addresses].map(
      (ip): KubeIpEntry => ({ ip, kind: "node", name, namespace: "", node: name, labels, workload: null }),
    );
    this.applyClaim(objectKey("node", "", name), entries, []);
  }

  deleteNode(node: ObjectStub): void {
    this.applyClaim(objectKey("node", "", node.metadata.name), [], []);
  }

  /** A ReplicaSet or Job appeared or changed owner: the pods it owns may now resolve to another workload. */
  upsertIntermediateOwner(kind: IntermediateOwnerKind, object: SlimWorkloadObject): void {
    const key = objectKey(kind, object.metadata.namespace ?? "", object.metadata.name);
    const controller = controllerOf(object.metadata);
    const before = this.intermediateOwners.get(key);
    this.intermediateOwners.set(key, controller);
    if (before === undefined || before?.kind !== controller?.kind || before?.name !== controller?.name) {
      this.rederiveDependents(key);
    }
  }

  deleteIntermediateOwner(kind: IntermediateOwnerKind, object: ObjectStub): void {
    const key = objectKey(kind, object.metadata.namespace ?? "", object.metadata.name);
    if (this.intermediateOwners.delete(key)) this.rederiveDependents(key);
  }

  snapshot(): KubeSnapshot {
    return {
      epoch: this.epoch,
      version: this.versionNow,
      ips: this.ips.values(),
      containers: this.containers.values(),
    };
  }

  /** Changes after `since`, or null when that copy cannot be brought up to date (other epoch, forgotten). */
  changesSince(epoch: string, since: number): KubeChanges | null {
    if (epoch !== this.epoch || since > this.versionNow) return null;
    if (since < Math.max(this.ips.forgottenThrough, this.containers.forgottenThrough)) return null;
    return {
      epoch: this.epoch,
      version: this.versionNow,
      since,
      ips: this.ips.changedSince(since),
      containers: this.containers.changedSince(since),
    };
  }

  /** Resolves once the version is past `since`, or after `ms`, or when `signal` aborts. */
  waitForChange(since: number, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.versionNow > since || ms <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(onChange);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const onChange = () => {
        if (this.versionNow > since) done();
      };
      const timer = setTimeout(done, ms);
      this.listeners.add(onChange);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  private resolveWorkload(
    namespace: string,
    podName: string,
    ref: OwnerReference | null,
    labels: Readonly<Record<string, string>>,
  ): KubeWorkload {
    if (ref === null) return { kind: "Pod", name: podName, namespace };
    if (ref.kind === "ReplicaSet" || ref.kind === "Job") {
      const owner = this.intermediateOwners.get(objectKey(ref.kind, namespace, ref.name));
      if (owner) return { kind: owner.kind, name: owner.name, namespace };
      if (owner === undefined && ref.kind === "ReplicaSet") {
        // Not seen yet (informers start together): a Deployment's ReplicaSet is `<deployment>-<pod-template-hash>`.
        const hash = labels["pod-template-hash"];
        if (hash && ref.name.endsWith(`-${hash}`)) {
          return { kind: "Deployment", name: ref.name.slice(0, -(hash.length + 1)), namespace };
        }
      }
    }
    return { kind: ref.kind, name: ref.name, namespace };
  }

  private trackDependent(pod: SlimPod, ref: OwnerReference | null): void {
    this.untrackDependent(pod);
    if (ref === null || (ref.kind !== "ReplicaSet" && ref.kind !== "Job")) return;
    const namespace = pod.metadata.namespace ?? "";
    const key = objectKey(ref.kind, namespace, ref.name);
    let pods = this.dependents.get(key);
    if (pods === undefined) {
      pods = new Set();
      this.dependents.set(key, pods);
    }
    pods.add(`${namespace}/${pod.metadata.name}`);
  }

  private untrackDependent(pod: ObjectStub): void {
    const ref = controllerOf(pod.metadata);
    if (ref === null) return;
    const namespace = pod.metadata.namespace ?? "";
    const key = objectKey(ref.kind, namespace, ref.name);
    const pods = this.dependents.get(key);
    if (pods === undefined) return;
    pods.delete(`${namespace}/${pod.metadata.name}`);
    if (pods.size === 0) this.dependents.delete(key);
  }

  /**
   * A ReplicaSet or Job changed: re-resolves the workload of the pods it owns from their own entries
   * (the index keeps no copy of pods; a pod without entries has nothing to update).
   */
  private rederiveDependents(ownerKey: string): void {
    const [kind, namespace, name] = ownerKey.split("/") as [string, string, string];
    for (const podKey of this.dependents.get(ownerKey) ?? []) {
      const podName = podKey.slice(podKey.indexOf("/") + 1);
      const key = objectKey("pod", namespace, podName);
      const claim = this.claims.get(key);
      if (claim === undefined) continue;
      const held = claim.ips.filter((ip) => this.ipHolder.get(ip) === key);
      const ipEntries = held.map((ip) => this.ips.get(ip)).filter((e) => e !== undefined);
      const containerEntries = claim.containers
        .map((id) => this.containers.get(id))
        .filter((e) => e !== undefined);
      const labels = ipEntries[0]?.labels ?? containerEntries[0]?.labels ?? noLabels;
      const workload = this.resolveWorkload(namespace, podName, { kind, name }, labels);
      this.applyClaim(
        key,
        ipEntries.map((e) => ({ ...e, workload })),
        containerEntries.map((e) => ({ ...e, workload })),
      );
    }
  }

  /** Replaces what one object holds; the version advances once if anything visible changed. */
  private applyClaim(key: string, ipEntries: KubeIpEntry[], containerEntries: KubeContainerEntry[]): void {
    const version = this.versionNow + 1;
    let changed = false;
    const before = this.claims.get(key);
    const newIps = new Set(ipEntries.map((e) => e.ip));
    const newContainers = new Set(containerEntries.map((e) => e.container_id));
    for (const ip of before?.ips ?? []) {
      if (newIps.has(ip) || this.ipHolder.get(ip) !== key) continue;
      this.ipHolder.delete(ip);
      changed = this.ips.remove(ip, version) || changed;
    }
    for (const id of before?.containers ?? []) {
      if (!newContainers.has(id)) changed = this.containers.remove(id, version) || changed;
    }
    for (const entry of ipEntries) {
      this.ipHolder.set(entry.ip, key);
      if (!sameEntry(this.ips.get(entry.ip), entry)) {
        this.ips.set(entry.ip, entry, version);
        changed = true;
      }
    }
    for (const entry of containerEntries) {
      if (!sameEntry(this.containers.get(entry.container_id), entry)) {
        this.containers.set(entry.container_id, entry, version);
        changed = true;
      }
    }
    if (newIps.size === 0 && newContainers.size === 0) this.claims.delete(key);
    else this.claims.set(key, { ips: [...newIps], containers: [...newContainers] });
    if (!changed) return;
    this.versionNow = version;
    for (const listener of [...this.listeners]) listener();
  }
}

function sameEntry<T>(a: T | undefined, b: T): boolean {
  // Entries are small flat records with a labels map from the same source: field order is stable.
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
