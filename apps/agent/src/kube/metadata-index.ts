import { randomUUID } from "node:crypto";
import type {
  KubeChanges,
  KubeContainerEntry,
  KubeIpEntry,
  KubeSnapshot,
  KubeWorkload,
} from "@kernflow/protocol";
import { flatCopy, Interner, StringPool } from "./interner";
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
  /** A pod's ReplicaSet/Job key while it has one: what its deletion must untrack (the informer keeps only name and namespace). */
  owner?: string | undefined;
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
  /** What each object holds; pods are here from their first event to their deletion, even holding nothing. */
  private readonly claims = new Map<string, Claim>();
  /** ReplicaSet/Job key → its controller (null: it has none). */
  private readonly intermediateOwners = new Map<string, OwnerReference | null>();
  /** ReplicaSet/Job key → names of the pods it owns (in its namespace), re-derived when it changes. */
  private readonly dependents = new Map<string, Set<string>>();
  // Shared copies of what repeats across pods (namespaces, nodes, labels, workloads): see Interner.
  private readonly strings = new StringPool(20_000);
  private readonly labelSets = new Interner<Readonly<Record<string, string>>>(10_000);
  private readonly workloads = new Interner<KubeWorkload>(20_000);
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
    const namespace = this.strings.get(pod.metadata.namespace ?? "");
    const name = pod.metadata.name;
    const key = objectKey("pod", namespace, name);
    const ref = controllerOf(pod.metadata);
    const owner = this.trackDependent(key, namespace, name, ref);
    const labels = this.labelsOf(pod.metadata.labels);
    const node = this.strings.get(pod.spec?.nodeName ?? "");
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
        container_id: flatCopy(stripRuntimeScheme(c.containerID)),
        container: this.strings.get(c.name),
        pod: name,
        pod_uid: pod.metadata.uid ?? "",
        namespace,
        node,
        labels,
        workload,
      });
    }
    this.applyClaim(key, ipEntries, containerEntries, owner);
  }

  deletePod(pod: ObjectStub): void {
    const key = objectKey("pod", pod.metadata.namespace ?? "", pod.metadata.name);
    this.untrackDependent(key, pod.metadata.name);
    this.applyClaim(key, [], []);
  }

  upsertService(service: SlimService): void {
    const namespace = this.strings.get(service.metadata.namespace ?? "");
    const name = service.metadata.name;
    const labels = this.labelsOf(service.metadata.labels);
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
    const labels = this.labelsOf(node.metadata.labels);
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

  /** The pooled copy of an equal label set (keys and values pooled too), frozen since many entries share it. */
  private labelsOf(labels: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
    if (labels === undefined) return noLabels;
    return this.labelSets.get(JSON.stringify(labels), () => {
      const pooled: Record<string, string> = {};
      for (const [k, v] of Object.entries(labels)) pooled[this.strings.get(k)] = this.strings.get(v);
      return Object.freeze(pooled);
    });
  }

  private workload(kind: string, name: string, namespace: string): KubeWorkload {
    return this.workloads.get(objectKey(kind, namespace, name), () => ({
      kind: this.strings.get(kind),
      name: flatCopy(name),
      namespace,
    }));
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
      if (owner) return this.workload(owner.kind, owner.name, namespace);
      if (owner === undefined && ref.kind === "ReplicaSet") {
        // Not seen yet (informers start together): a Deployment's ReplicaSet is `<deployment>-<pod-template-hash>`.
        const hash = labels["pod-template-hash"];
        if (hash && ref.name.endsWith(`-${hash}`)) {
          return this.workload("Deployment", ref.name.slice(0, -(hash.length + 1)), namespace);
        }
      }
    }
    return this.workload(ref.kind, ref.name, namespace);
  }

  /** Records which ReplicaSet/Job owns the pod (now); returns that owner's key, if any. */
  private trackDependent(
    podKey: string,
    namespace: string,
    podName: string,
    ref: OwnerReference | null,
  ): string | undefined {
    // Pooled: each of a ReplicaSet's pods keeps its key.
    const ownerKey =
      ref !== null && (ref.kind === "ReplicaSet" || ref.kind === "Job")
        ? this.strings.get(objectKey(ref.kind, namespace, ref.name))
        : undefined;
    const before = this.claims.get(podKey)?.owner;
    if (before === ownerKey) return before;
    this.untrackDependent(podKey, podName);
    if (ownerKey === undefined) return undefined;
    let pods = this.dependents.get(ownerKey);
    if (pods === undefined) {
      pods = new Set();
      this.dependents.set(ownerKey, pods);
    }
    pods.add(podName);
    return ownerKey;
  }

  private untrackDependent(podKey: string, podName: string): void {
    const ownerKey = this.claims.get(podKey)?.owner;
    if (ownerKey === undefined) return;
    const pods = this.dependents.get(ownerKey);
    if (pods === undefined) return;
    pods.delete(podName);
    if (pods.size === 0) this.dependents.delete(ownerKey);
  }

  /**
   * A ReplicaSet or Job changed: re-resolves the workload of the pods it owns from their own entries
   * (the index keeps no copy of pods; a pod without entries has nothing to update).
   */
  private rederiveDependents(ownerKey: string): void {
    const [kind, namespace, name] = ownerKey.split("/") as [string, string, string];
    for (const podName of this.dependents.get(ownerKey) ?? []) {
      const key = objectKey("pod", namespace, podName);
      const claim = this.claims.get(key);
      if (claim === undefined) continue;
      const held = claim.ips.filter((ip) => this.holds(ip, "pod", namespace, podName));
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
        claim.owner,
      );
    }
  }

  /**
   * Whether the IP's entry is this object's. A later claimant of an IP (reuse) takes the entry over, and
   * an earlier one's deletion must then leave it alone.
   */
  private holds(ip: string, kind: string, namespace: string, name: string): boolean {
    const entry = this.ips.get(ip);
    return entry !== undefined && entry.kind === kind && entry.name === name && entry.namespace === namespace;
  }

  /** Replaces what one object holds; the version advances once if anything visible changed. */
  private applyClaim(
    key: string,
    ipEntries: KubeIpEntry[],
    containerEntries: KubeContainerEntry[],
    owner?: string,
  ): void {
    const version = this.versionNow + 1;
    let changed = false;
    const before = this.claims.get(key);
    const newIps = new Set(ipEntries.map((e) => e.ip));
    const newContainers = new Set(containerEntries.map((e) => e.container_id));
    const [kind, namespace, name] = splitKey(key);
    for (const ip of before?.ips ?? []) {
      if (newIps.has(ip) || !this.holds(ip, kind, namespace, name)) continue;
      changed = this.ips.remove(ip, version) || changed;
    }
    for (const id of before?.containers ?? []) {
      if (!newContainers.has(id)) changed = this.containers.remove(id, version) || changed;
    }
    for (const entry of ipEntries) {
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
    // A pod's claim stays while the pod exists (its owner is needed at its deletion); others go when empty.
    if (newIps.size === 0 && newContainers.size === 0 && owner === undefined) this.claims.delete(key);
    else
      this.claims.set(key, {
        ips: [...newIps],
        containers: [...newContainers],
        ...(owner === undefined ? {} : { owner }),
      });
    if (!changed) return;
    this.versionNow = version;
    for (const listener of [...this.listeners]) listener();
  }
}

/** `kind/namespace/name` → its parts (names and namespaces have no `/`). */
function splitKey(key: string): [string, string, string] {
  const first = key.indexOf("/");
  const second = key.indexOf("/", first + 1);
  return [key.slice(0, first), key.slice(first + 1, second), key.slice(second + 1)];
}

/**
 * Entries are flat records whose only nested values (labels, workload) are flat too, and usually the
 * same pooled object: compared field by field, one level deep. (Comparing their JSON made two strings
 * per entry, ~90 MB of garbage for each relist of 50k pods, which V8 answered by growing its heap.)
 */
function sameEntry<T extends object>(a: T | undefined, b: T): boolean {
  return a !== undefined && sameFields(a, b, true);
}

function sameFields(a: object, b: object, nested: boolean): boolean {
  if (a === b) return true;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let count = 0;
  for (const key in y) {
    count += 1;
    const u = x[key];
    const v = y[key];
    if (u === v) continue;
    if (!nested || typeof u !== "object" || typeof v !== "object" || u === null || v === null) return false;
    if (!sameFields(u, v, false)) return false;
  }
  for (const _ in x) count -= 1;
  return count === 0;
}
