import { z } from "zod";

/**
 * What the kubetags role serves to aggregators: the Kubernetes object behind an IP address and the pod
 * behind a container id. kubetags keeps these maps from API-server watches; aggregators hold a copy,
 * fetched once as a snapshot and then kept current with the changes since the version they hold.
 *
 * Transport: JSON over HTTP, no authentication (a cluster-internal Service; restrict it with a
 * NetworkPolicy). A copy is identified by (`epoch`, `version`): `epoch` changes when kubetags restarts,
 * `version` grows with every change. Asking for changes since a version of another epoch, or one so old
 * that its deletions were forgotten, answers 410 with {@link kubeChangesGoneSchema}: fetch the snapshot.
 */
export const KUBETAGS_API_PREFIX = "/v1";

export const kubetagsPaths = {
  /** GET → {@link KubeSnapshot}. */
  snapshot: `${KUBETAGS_API_PREFIX}/snapshot`,
  /** GET `?epoch=E&since=V[&wait_ms=N]` → {@link KubeChanges}; holds up to `wait_ms` while nothing changed. */
  changes: `${KUBETAGS_API_PREFIX}/changes`,
  /** GET → {@link KubetagsHealth}; HTTP 200 when every informer is synced and none is failing, else 503. */
  health: "/healthz",
  /** GET → {@link KubetagsMetrics}. */
  metrics: "/metrics",
} as const;

/** The longest a changes request may be held open before it answers with no changes. */
export const MAX_KUBE_CHANGES_WAIT_MS = 30_000;

const k8sName = z.string().min(1).max(253);
const labels = z.record(z.string().max(317), z.string().max(63));

/** The controller a pod belongs to once its owner chain is followed (ReplicaSet → Deployment, Job → CronJob). */
export const kubeWorkloadKinds = [
  "Deployment",
  "ReplicaSet",
  "StatefulSet",
  "DaemonSet",
  "CronJob",
  "Job",
  /** A pod no controller owns (or whose owner is of a kind kubetags does not watch, named as such). */
  "Pod",
] as const;
export const kubeWorkloadSchema = z
  .object({ kind: z.string().min(1).max(63), name: k8sName, namespace: k8sName })
  .strict();
export type KubeWorkload = z.infer<typeof kubeWorkloadSchema>;

/**
 * The object an IP address belongs to. `pod` entries are never made for host-network pods (their IP is
 * the node's); the node itself is the `node` entry of that address. Services are their ClusterIPs.
 */
export const kubeIpEntrySchema = z
  .object({
    ip: z.string().min(2).max(45),
    kind: z.enum(["pod", "service", "node"]),
    name: k8sName,
    /** Empty for nodes (cluster-scoped). */
    namespace: z.string().max(253),
    /** The node the pod runs on; the node's own name for `node` entries; empty for services. */
    node: z.string().max(253),
    labels,
    /** The pod's workload; null for services and nodes. */
    workload: kubeWorkloadSchema.nullable(),
  })
  .strict();
export type KubeIpEntry = z.infer<typeof kubeIpEntrySchema>;

/** A container, keyed by its runtime id with the `containerd://`-style scheme stripped (64 hex for CRI runtimes). */
export const kubeContainerEntrySchema = z
  .object({
    container_id: z.string().min(1).max(128),
    container: k8sName,
    pod: k8sName,
    pod_uid: z.string().max(64),
    namespace: k8sName,
    node: z.string().max(253),
    labels,
    workload: kubeWorkloadSchema,
  })
  .strict();
export type KubeContainerEntry = z.infer<typeof kubeContainerEntrySchema>;

const copyId = { epoch: z.string().min(1).max(64), version: z.number().int().nonnegative() };

export const kubeSnapshotSchema = z
  .object({ ...copyId, ips: z.array(kubeIpEntrySchema), containers: z.array(kubeContainerEntrySchema) })
  .strict();
export type KubeSnapshot = z.infer<typeof kubeSnapshotSchema>;

/** Entries added or changed since `since`, and the keys removed; apply removals, then upserts. */
export const kubeChangesSchema = z
  .object({
    ...copyId,
    since: z.number().int().nonnegative(),
    ips: z.object({ upserted: z.array(kubeIpEntrySchema), removed: z.array(z.string()) }).strict(),
    containers: z
      .object({ upserted: z.array(kubeContainerEntrySchema), removed: z.array(z.string()) })
      .strict(),
  })
  .strict();
export type KubeChanges = z.infer<typeof kubeChangesSchema>;

export const kubeChangesQuerySchema = z.object({
  epoch: z.string().min(1).max(64),
  since: z.coerce.number().int().nonnegative(),
  wait_ms: z.coerce.number().int().min(0).max(MAX_KUBE_CHANGES_WAIT_MS).default(0),
});

/** The 410 answer: the copy cannot be brought up to date by changes; fetch {@link kubetagsPaths.snapshot}. */
export const kubeChangesGoneSchema = z
  .object({ error: z.object({ code: z.literal("snapshot_required"), message: z.string() }).strict() })
  .strict();

export const kubeInformerHealthSchema = z
  .object({
    resource: z.string(),
    /** The first full list has been applied and a watch started. */
    synced: z.boolean(),
    /** The last list or watch failed and no later one has succeeded yet. */
    failing: z.boolean(),
    last_error: z.string().nullable(),
    last_error_at: z.iso.datetime().nullable(),
    objects: z.number().int().nonnegative(),
    lists: z.number().int().nonnegative(),
    watches: z.number().int().nonnegative(),
    events: z.number().int().nonnegative(),
    gone: z.number().int().nonnegative(),
  })
  .strict();
export type KubeInformerHealth = z.infer<typeof kubeInformerHealthSchema>;

export const kubetagsHealthSchema = z
  .object({
    ok: z.boolean(),
    epoch: z.string(),
    version: z.number().int().nonnegative(),
    ips: z.number().int().nonnegative(),
    containers: z.number().int().nonnegative(),
    informers: z.array(kubeInformerHealthSchema),
  })
  .strict();
export type KubetagsHealth = z.infer<typeof kubetagsHealthSchema>;

export const kubetagsMetricsSchema = z
  .object({
    epoch: z.string(),
    version: z.number().int().nonnegative(),
    ips: z.number().int().nonnegative(),
    containers: z.number().int().nonnegative(),
    /** Per resource: events applied, and the time to apply one (ms) over the last 4096. */
    apply: z.record(
      z.string(),
      z
        .object({
          events: z.number().int().nonnegative(),
          p50_ms: z.number().nonnegative(),
          p99_ms: z.number().nonnegative(),
          max_ms: z.number().nonnegative(),
        })
        .strict(),
    ),
    rss_bytes: z.number().int().nonnegative(),
    heap_used_bytes: z.number().int().nonnegative(),
  })
  .strict();
export type KubetagsMetrics = z.infer<typeof kubetagsMetricsSchema>;
