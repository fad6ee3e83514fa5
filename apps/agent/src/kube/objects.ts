import { z } from "zod";

/**
 * The few fields of each Kubernetes object that kubetags needs, as zod schemas. Parsing an API-server
 * object with one of these both validates it and drops every other field (zod strips unknown keys), so
 * the informer caches hold a few hundred bytes per pod instead of the whole object: that is what keeps
 * 50k pods well under the memory target.
 */

const ownerReference = z.object({
  kind: z.string(),
  name: z.string(),
  controller: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof ownerReference>;

const labels = z.record(z.string(), z.string()).optional();

/** `metadata` as the ListWatch cache needs it (name, namespace, resourceVersion) plus what we map. */
const metadata = z.object({
  name: z.string().min(1),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  labels,
  ownerReferences: z.array(ownerReference).optional(),
});

const containerStatus = z.object({ name: z.string(), containerID: z.string().optional() });

export const podSchema = z.object({
  metadata,
  spec: z.object({ nodeName: z.string().optional(), hostNetwork: z.boolean().optional() }).optional(),
  status: z
    .object({
      phase: z.string().optional(),
      podIP: z.string().optional(),
      podIPs: z.array(z.object({ ip: z.string() })).optional(),
      containerStatuses: z.array(containerStatus).optional(),
      initContainerStatuses: z.array(containerStatus).optional(),
      ephemeralContainerStatuses: z.array(containerStatus).optional(),
    })
    .optional(),
});
export type SlimPod = z.infer<typeof podSchema>;

export const serviceSchema = z.object({
  metadata,
  spec: z.object({ clusterIP: z.string().optional(), clusterIPs: z.array(z.string()).optional() }).optional(),
});
export type SlimService = z.infer<typeof serviceSchema>;

export const nodeSchema = z.object({
  metadata,
  status: z
    .object({ addresses: z.array(z.object({ type: z.string(), address: z.string() })).optional() })
    .optional(),
});
export type SlimNode = z.infer<typeof nodeSchema>;

/** ReplicaSets, Jobs and the top-level controllers: only who owns them matters. */
export const workloadObjectSchema = z.object({
  metadata: metadata.omit({ labels: true, uid: true }),
});
export type SlimWorkloadObject = z.infer<typeof workloadObjectSchema>;

export type SlimObject = SlimPod | SlimService | SlimNode | SlimWorkloadObject;

/** The envelope of a list response (`PodList`, ...); items are parsed one by one so a bad one is skipped. */
export const listEnvelopeSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().optional(), continue: z.string().optional() }),
  items: z.array(z.unknown()),
});

/** The Status object of an error response or of a watch ERROR event. */
export const statusSchema = z.object({
  kind: z.literal("Status").optional(),
  code: z.number().int().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});

/** `containerd://<id>`, `docker://<id>`, `cri-o://<id>` → `<id>`, the form cgroup paths carry. */
export function stripRuntimeScheme(containerId: string): string {
  const at = containerId.indexOf("://");
  return at === -1 ? containerId : containerId.slice(at + 3);
}

/** The owner reference the controller manager set (the one with `controller: true`), else the first one. */
export function controllerOf(meta: {
  ownerReferences?: OwnerReference[] | undefined;
}): OwnerReference | null {
  const refs = meta.ownerReferences;
  if (refs === undefined || refs.length === 0) return null;
  return refs.find((r) => r.controller === true) ?? (refs[0] as OwnerReference);
}

/**
 * What an informer cache keeps of an object once its fields are in the maps: enough for the library to
 * tell adds from updates and to report deletions (name, namespace, resourceVersion). The maps remember
 * the rest they need to forget an object (a pod's owner) themselves. Caching full objects next to the
 * maps derived from them would hold every pod twice.
 */
export interface ObjectStub {
  metadata: {
    name: string;
    namespace?: string | undefined;
    resourceVersion?: string | undefined;
  };
}

export function stubOf(object: ObjectStub): ObjectStub {
  const { name, namespace, resourceVersion } = object.metadata;
  return {
    metadata: {
      name,
      ...(namespace === undefined ? {} : { namespace }),
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
  };
}
