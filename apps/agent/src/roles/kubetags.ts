import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { KubetagsHealth, KubetagsMetrics } from "@kernflow/protocol";
import type { KubeConfig } from "../kube/client-node";
import { serveKubetags } from "../kube/http-server";
import { type InformerOptions, ResourceInformer, type ResourceSpec } from "../kube/informer";
import { KubeMetadataIndex } from "../kube/metadata-index";
import {
  nodeSchema,
  type ObjectStub,
  podSchema,
  type SlimNode,
  type SlimPod,
  type SlimService,
  type SlimWorkloadObject,
  serviceSchema,
  workloadObjectSchema,
} from "../kube/objects";

export interface KubetagsOptions {
  kubeConfig: KubeConfig;
  host: string;
  port: number;
  /** How often every resource is relisted to repair what a missed event could have left wrong (0: never). */
  resyncMs?: number;
  informer?: InformerOptions;
  maxTombstones?: number;
  log?: (message: string) => void;
}

/** A running kubetags: its address, state and `stop()`. */
export interface KubetagsRole {
  address: AddressInfo;
  index: KubeMetadataIndex;
  health(): KubetagsHealth;
  metrics(): KubetagsMetrics;
  stop(): Promise<void>;
}

const controllerPaths = {
  deployments: "/apis/apps/v1/deployments",
  statefulsets: "/apis/apps/v1/statefulsets",
  daemonsets: "/apis/apps/v1/daemonsets",
  cronjobs: "/apis/batch/v1/cronjobs",
} as const;

/**
 * Starts the informers and the HTTP server. Resolves once listening; the informers sync in the
 * background (an API server that is down must not keep `/healthz` from answering why).
 */
export async function startKubetags(options: KubetagsOptions): Promise<KubetagsRole> {
  const log = options.log ?? (() => {});
  const informerOptions: InformerOptions = { log, ...options.informer };
  const index = new KubeMetadataIndex(
    options.maxTombstones === undefined ? {} : { maxTombstones: options.maxTombstones },
  );
  const make = <T>(
    resource: string,
    path: string,
    schema: ResourceSpec<T>["schema"],
    onUpsert: (o: T) => void,
    onDelete: (o: ObjectStub) => void,
  ) =>
    new ResourceInformer<T>(
      options.kubeConfig,
      { resource, path, schema, onUpsert, onDelete },
      informerOptions,
    );

  const pods = make<SlimPod>(
    "pods",
    "/api/v1/pods",
    podSchema,
    (p) => index.upsertPod(p),
    (p) => index.deletePod(p),
  );
  const services = make<SlimService>(
    "services",
    "/api/v1/services",
    serviceSchema,
    (s) => index.upsertService(s),
    (s) => index.deleteService(s),
  );
  const nodes = make<SlimNode>(
    "nodes",
    "/api/v1/nodes",
    nodeSchema,
    (n) => index.upsertNode(n),
    (n) => index.deleteNode(n),
  );
  const replicaSets = make<SlimWorkloadObject>(
    "replicasets",
    "/apis/apps/v1/replicasets",
    workloadObjectSchema,
    (o) => index.upsertIntermediateOwner("ReplicaSet", o),
    (o) => index.deleteIntermediateOwner("ReplicaSet", o),
  );
  const jobs = make<SlimWorkloadObject>(
    "jobs",
    "/apis/batch/v1/jobs",
    workloadObjectSchema,
    (o) => index.upsertIntermediateOwner("Job", o),
    (o) => index.deleteIntermediateOwner("Job", o),
  );
  // Top-level controllers are resolved from the owner references of pods, ReplicaSets and Jobs; their
  // informers keep counts for health and make a missing RBAC grant show up at once.
  const controllers = Object.entries(controllerPaths).map(([resource, path]) =>
    make<SlimWorkloadObject>(resource, path, workloadObjectSchema, noop, noop),
  );
  // Owners first, so pods listed afterwards resolve their workload without a second pass.
  const informers = [replicaSets, jobs, ...controllers, nodes, services, pods] as ResourceInformer<never>[];

  const health = (): KubetagsHealth => {
    const states = informers.map((i) => i.health());
    return {
      ok: states.every((s) => s.synced && !s.failing),
      epoch: index.epoch,
      version: index.version,
      ...index.counts,
      informers: states,
    };
  };
  const metrics = (): KubetagsMetrics => {
    const memory = process.memoryUsage();
    return {
      epoch: index.epoch,
      version: index.version,
      ...index.counts,
      apply: Object.fromEntries(informers.map((i) => [i.resource, i.timings.summary()])),
      rss_bytes: memory.rss,
      heap_used_bytes: memory.heapUsed,
    };
  };

  const { server, address } = await serveKubetags({ index, health, metrics }, options.host, options.port);
  log(`kubetags listening on ${address.address}:${address.port}`);
  // Sequential so the owners are in place before pods; each start returns once its watch is answered.
  const starting = (async () => {
    for (const informer of informers) await informer.start();
    log(`kubetags: informers started (${index.counts.ips} IPs, ${index.counts.containers} containers)`);
  })();
  // Resync: relist every resource now and then; unchanged entries cost nothing, missed changes are repaired.
  const resyncTimer =
    (options.resyncMs ?? 0) > 0
      ? setInterval(() => {
          for (const informer of informers) informer.resync();
        }, options.resyncMs)
      : null;
  resyncTimer?.unref();

  return {
    address,
    index,
    health,
    metrics,
    async stop() {
      if (resyncTimer !== null) clearInterval(resyncTimer);
      await starting.catch(() => {});
      await Promise.all(informers.map((i) => i.stop()));
      await closeServer(server);
    },
  };
}

function noop(): void {}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Held long-polls would keep close() waiting for up to 30 s.
    server.closeAllConnections();
  });
}

/** The CLI's entry: runs until `signal` aborts. */
export async function runKubetags(options: KubetagsOptions, signal: AbortSignal): Promise<KubetagsHealth> {
  const role = await startKubetags(options);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
  const last = role.health();
  await role.stop();
  return last;
}
