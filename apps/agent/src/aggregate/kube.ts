import { setTimeout as sleep } from "node:timers/promises";
import {
  type Endpoint,
  type FlowRecord,
  type KubeContainerEntry,
  type KubeIpEntry,
  kubeChangesSchema,
  kubeSnapshotSchema,
  kubetagsPaths,
} from "@kernflow/protocol";

/** The aggregator's copy of what kubetags knows: IP → object and container id → pod/container. */
export class KubeMetadata {
  private ips = new Map<string, KubeIpEntry>();
  private containers = new Map<string, KubeContainerEntry>();
  epoch: string | null = null;
  version = 0;

  replace(snapshot: {
    epoch: string;
    version: number;
    ips: KubeIpEntry[];
    containers: KubeContainerEntry[];
  }) {
    this.ips = new Map(snapshot.ips.map((e) => [e.ip, e]));
    this.containers = new Map(snapshot.containers.map((e) => [e.container_id, e]));
    this.epoch = snapshot.epoch;
    this.version = snapshot.version;
  }

  apply(changes: {
    version: number;
    ips: { upserted: KubeIpEntry[]; removed: string[] };
    containers: { upserted: KubeContainerEntry[]; removed: string[] };
  }) {
    for (const ip of changes.ips.removed) this.ips.delete(ip);
    for (const id of changes.containers.removed) this.containers.delete(id);
    for (const e of changes.ips.upserted) this.ips.set(e.ip, e);
    for (const e of changes.containers.upserted) this.containers.set(e.container_id, e);
    this.version = changes.version;
  }

  get size(): { ips: number; containers: number } {
    return { ips: this.ips.size, containers: this.containers.size };
  }

  /** Fills the Kubernetes fields of an endpoint: by its container id first (exact), else by its address. */
  enrichEndpoint(endpoint: Endpoint, address: string): void {
    const container = endpoint.container_id === null ? undefined : this.containers.get(endpoint.container_id);
    if (container !== undefined) {
      endpoint.container_name = container.container;
      endpoint.node = container.node || endpoint.node;
      endpoint.object_name = container.pod;
      endpoint.object_namespace = container.namespace;
      endpoint.object_type = "pod";
      endpoint.workload_name = container.workload.name;
      endpoint.workload_namespace = container.workload.namespace;
      endpoint.object_labels = container.labels;
      return;
    }
    const object = this.ips.get(address);
    if (object === undefined) return;
    if (object.kind === "node") {
      // A host-network process: its node is known, it belongs to no pod or service.
      endpoint.node = object.name;
      return;
    }
    endpoint.object_name = object.name;
    endpoint.object_namespace = object.namespace;
    endpoint.object_type = object.kind;
    endpoint.object_labels = object.labels;
    if (object.node !== "") endpoint.node = object.node;
    if (object.workload !== null) {
      endpoint.workload_name = object.workload.name;
      endpoint.workload_namespace = object.workload.namespace;
    }
  }

  enrichRecord(record: FlowRecord): void {
    this.enrichEndpoint(record.src, record.src_addr);
    this.enrichEndpoint(record.dst, record.dst_addr);
  }
}

export interface KubetagsFollowerStatus {
  synced: boolean;
  last_error: string | null;
  snapshots: number;
  changes: number;
}

/**
 * Keeps a {@link KubeMetadata} current from a kubetags server: a snapshot, then long-polled changes; a
 * 410 (restarted kubetags, or too far behind) fetches the snapshot again; errors back off and retry, the
 * copy in hand stays in use meanwhile (stale names beat none).
 */
export async function followKubetags(
  baseUrl: string,
  metadata: KubeMetadata,
  status: KubetagsFollowerStatus,
  signal: AbortSignal,
  options: { waitMs?: number; log?: (msg: string) => void } = {},
): Promise<void> {
  const waitMs = options.waitMs ?? 25_000;
  let backoffMs = 250;
  let needSnapshot = true;
  while (!signal.aborted) {
    try {
      if (needSnapshot) {
        const response = await fetch(new URL(kubetagsPaths.snapshot, baseUrl), { signal });
        if (!response.ok) throw new Error(`snapshot answered HTTP ${response.status}`);
        const snapshot = kubeSnapshotSchema.parse(await response.json());
        metadata.replace(snapshot);
        status.snapshots++;
        needSnapshot = false;
      } else {
        const url = new URL(kubetagsPaths.changes, baseUrl);
        url.searchParams.set("epoch", metadata.epoch ?? "");
        url.searchParams.set("since", String(metadata.version));
        url.searchParams.set("wait_ms", String(waitMs));
        const response = await fetch(url, { signal });
        if (response.status === 410) {
          await response.body?.cancel();
          needSnapshot = true;
          continue;
        }
        if (!response.ok) throw new Error(`changes answered HTTP ${response.status}`);
        const changes = kubeChangesSchema.parse(await response.json());
        if (changes.epoch !== metadata.epoch) {
          needSnapshot = true;
          continue;
        }
        metadata.apply(changes);
        status.changes++;
      }
      status.synced = true;
      status.last_error = null;
      backoffMs = 250;
    } catch (error) {
      if (signal.aborted) return;
      const message = error instanceof Error ? error.message : String(error);
      if (status.last_error !== message) options.log?.(`kubetags ${baseUrl}: ${message}; retrying`);
      status.last_error = message;
      await sleep(backoffMs, undefined, { signal }).catch(() => {});
      backoffMs = Math.min(backoffMs * 2, 10_000);
    }
  }
}
