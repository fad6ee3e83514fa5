import type { AddressInfo } from "node:net";
import type { FlowBatch } from "@kernflow/protocol";
import { z } from "zod";
import { ConsoleForwarder, type ForwardMetrics } from "../aggregate/forward";
import { FlowJoiner, type JoinMetrics } from "../aggregate/join";
import { followKubetags, KubeMetadata, type KubetagsFollowerStatus } from "../aggregate/kube";
import { createAggregatorServer, HttpRefusal, type ReceiverStats } from "../aggregate/server";

export interface AggregateOptions {
  listenHost: string;
  /** 0 = any free port (tests). */
  listenPort: number;
  serverUrl: string;
  /** Forward through NATS JetStream (`nats://HOST:PORT/SUBJECT`), posting to serverUrl while it is away. */
  natsUrl?: string;
  kubetagsUrl?: string;
  clusterId?: string;
  joinWindowMs: number;
  maxEntries: number;
  /** Overlap tolerance between the two sides' intervals (unaligned drains, clock skew). */
  slackMs?: number;
  maxBatchRecords?: number;
  maxQueuedRecords?: number;
  /** How often partly filled forward batches are sent. */
  flushMs?: number;
  /** How long a stop waits for the console to take what is left. */
  shutdownGraceMs?: number;
  log: (msg: string) => void;
  /** Called once listening, with the actual address. */
  onListening?: (address: { host: string; port: number }) => void;
}

export interface AggregateMetrics {
  join: JoinMetrics;
  forward: ForwardMetrics;
  receive: ReceiverStats;
  kubetags: (KubetagsFollowerStatus & { ips: number; containers: number }) | null;
  rss_bytes: number;
}

const optionsSchema = z.object({
  listenHost: z.string().min(1),
  listenPort: z.number().int().min(0).max(65535),
  serverUrl: z.url({ protocol: /^https?$/ }),
  natsUrl: z.url({ protocol: /^nats$/ }).optional(),
  kubetagsUrl: z.url({ protocol: /^https?$/ }).optional(),
  clusterId: z.string().min(1).max(253).optional(),
  joinWindowMs: z.number().int().min(0).max(3_600_000),
  maxEntries: z.number().int().min(1),
  slackMs: z.number().int().min(0).optional(),
  maxBatchRecords: z.number().int().min(1).max(100_000).optional(),
  maxQueuedRecords: z.number().int().min(1).optional(),
  flushMs: z.number().int().min(1).optional(),
  shutdownGraceMs: z.number().int().min(0).optional(),
});

/**
 * Runs the aggregator until `signal` aborts: receives agents' flow batches, joins the two sides of each
 * conversation, adds Kubernetes metadata and forwards to the console under each sender's credential.
 * On stop it forwards what still waits for a partner, waits up to the grace period for the console, and
 * returns its final metrics.
 */
export async function runAggregate(opts: AggregateOptions, signal: AbortSignal): Promise<AggregateMetrics> {
  const parsed = optionsSchema.safeParse({ ...opts, log: undefined, onListening: undefined });
  if (!parsed.success) throw new TypeError(`invalid aggregate options: ${z.prettifyError(parsed.error)}`);
  const { log } = opts;
  const forwarder = new ConsoleForwarder({
    serverUrl: opts.serverUrl,
    ...(opts.natsUrl === undefined ? {} : { natsUrl: opts.natsUrl }),
    maxBatchRecords: opts.maxBatchRecords ?? 5_000,
    maxQueuedRecords: opts.maxQueuedRecords ?? 1_000_000,
    concurrency: 4,
    retryMinMs: 200,
    retryMaxMs: 30_000,
    log,
  });
  const kube = opts.kubetagsUrl === undefined ? null : new KubeMetadata();
  const kubeStatus: KubetagsFollowerStatus = { synced: false, last_error: null, snapshots: 0, changes: 0 };
  const clusterId = opts.clusterId ?? null;
  const joiner = new FlowJoiner(
    { windowMs: opts.joinWindowMs, maxEntries: opts.maxEntries, slackMs: opts.slackMs ?? 2_000 },
    (record, origin) => {
      if (clusterId !== null) record.cluster_id = clusterId;
      kube?.enrichRecord(record);
      forwarder.push(record, origin);
    },
  );
  const receive: ReceiverStats = {
    batches_received: 0,
    batches_duplicate: 0,
    records_received: 0,
    refused: {},
  };
  const metrics = (): AggregateMetrics => ({
    join: joiner.metrics(),
    forward: forwarder.metrics(),
    receive,
    kubetags: kube === null ? null : { ...kubeStatus, ...kube.size },
    rss_bytes: process.memoryUsage.rss(),
  });
  const server = createAggregatorServer(
    {
      accept: (batch: FlowBatch, credential: string) => {
        // Back-pressure instead of loss: a full forward queue (console away) makes agents keep their
        // records in their own spool and retry.
        if (!forwarder.hasRoomFor(batch.records.length + joiner.metrics().waiting))
          throw new HttpRefusal(429, "busy", "the aggregator's forward queue is full; retry later", 5);
        const sender = forwarder.senderSlot(credential);
        batch.records.forEach((record, index) => {
          joiner.add(record, { sender, id: `${batch.batch_id}:${index}` });
        });
      },
      metrics,
    },
    receive,
  );

  const running = new AbortController();
  const forwarding = forwarder.run(running.signal);
  const following =
    kube === null || opts.kubetagsUrl === undefined
      ? Promise.resolve()
      : followKubetags(opts.kubetagsUrl, kube, kubeStatus, running.signal, { log });
  const expiry = setInterval(() => joiner.expire(), Math.max(50, Math.min(1_000, opts.joinWindowMs / 4)));
  const cutting = setInterval(() => forwarder.cutAll(), opts.flushMs ?? 500);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.listenPort, opts.listenHost, () => resolve());
    });
    const address = server.address() as AddressInfo;
    log(`aggregating on http://${address.address}:${address.port} -> ${opts.serverUrl}`);
    opts.onListening?.({ host: address.address, port: address.port });
    if (!signal.aborted)
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    log("stopping: forwarding what still waits for a partner");
  } finally {
    clearInterval(expiry);
    clearInterval(cutting);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    joiner.flushAll();
    forwarder.cutAll();
    const drained = await forwarder.drained(AbortSignal.timeout(opts.shutdownGraceMs ?? 10_000));
    if (!drained) log(`stopping with ${forwarder.metrics().queued} record(s) the console did not take`);
    running.abort();
    await forwarding;
    await forwarder.close();
    await following;
  }
  return metrics();
}
