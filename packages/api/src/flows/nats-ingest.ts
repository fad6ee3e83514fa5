// Console ingest workers fed by NATS JetStream (issue #8): any number of processes share one durable pull
// consumer of the flow stream. Each message (one FlowBatch, format in @kernflow/protocol flow-stream.ts) goes
// through exactly the HTTP path's checks and store write (authenticateAgent + ingestFlowBatch), and is acked
// only after the store committed it; the store is idempotent by batch_id, so a redelivery after a worker
// died between commit and ack stores nothing twice. A message that can never be stored (bad JSON or schema,
// refused credential, too large) is moved to the dead-letter subject with its reason, then acked.
import type { FlowStore } from "@kernflow/db";
import {
  agentPaths,
  DEFAULT_INGEST_CONSUMER,
  deadLetterSubjectFor,
  flowStreamHeaders,
  parseNatsFlowUrl,
  streamNameFor,
} from "@kernflow/protocol";
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JsMsg,
  jetstream,
  jetstreamManager,
  StorageType,
} from "@nats-io/jetstream";
import { connect, headers, type NatsConnection, nanos } from "@nats-io/transport-node";
import { authenticateAgent } from "../agent/credentials";
import type { Db } from "../db";
import { AuthenticationError } from "../errors";
import { ingestFlowBatch } from "./ingest";
import type { FlowRateLimiter } from "./rate-limit";

export interface NatsIngestOptions {
  /** `nats://HOST:PORT/SUBJECT`. */
  url: string;
  consumer?: string;
  /** Messages processed at once by this worker (each is one store transaction). */
  concurrency?: number;
  /** How long a message may stay unacked before JetStream gives it to another worker. */
  ackWaitMs?: number;
  log: (message: string) => void;
}

export interface NatsIngestDeps {
  db: Db;
  flowStore: FlowStore;
  limiter?: FlowRateLimiter;
}

export interface NatsIngestStats {
  batches_stored: number;
  records_stored: number;
  batches_duplicate: number;
  dead_lettered: number;
  /** Handed back for a later retry (rate limit, database trouble). */
  retried: number;
}

export function emptyNatsIngestStats(): NatsIngestStats {
  return { batches_stored: 0, records_stored: 0, batches_duplicate: 0, dead_lettered: 0, retried: 0 };
}

/** The flow stream, its dead-letter stream and the shared durable consumer; idempotent. */
export async function ensureFlowStreams(
  nc: NatsConnection,
  subject: string,
  consumer: string,
  ackWaitMs: number,
) {
  const jsm = await jetstreamManager(nc);
  const stream = streamNameFor(subject);
  const dlqSubject = deadLetterSubjectFor(subject);
  for (const [name, subjects] of [
    [stream, [subject]],
    [`${stream}_DLQ`, [dlqSubject]],
  ] as const) {
    try {
      await jsm.streams.info(name);
    } catch {
      await jsm.streams.add({
        name,
        subjects: [...subjects],
        storage: StorageType.File,
        duplicate_window: nanos(10 * 60_000),
      });
    }
  }
  try {
    await jsm.consumers.info(stream, consumer);
  } catch {
    await jsm.consumers.add(stream, {
      durable_name: consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      max_ack_pending: 10_000,
    });
  }
  return { stream, dlqSubject };
}

type Outcome =
  | { kind: "stored"; records: number; duplicate: boolean }
  | { kind: "dead"; reason: string }
  | { kind: "retry"; delayMs: number; reason: string };

/** One message through the console's own flow-batch path, answered as an outcome instead of HTTP. */
async function ingestMessage(deps: NatsIngestDeps, msg: JsMsg): Promise<Outcome> {
  const credential = msg.headers?.get(flowStreamHeaders.credential) ?? "";
  const request = new Request(`http://nats-ingest${agentPaths.flows}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${credential}`,
      "content-encoding": msg.headers?.get(flowStreamHeaders.encoding) || "identity",
      "content-type": "application/json",
    },
    body: msg.data,
  });
  let device: { id: string; name: string; planId: string };
  try {
    device = await authenticateAgent(deps.db, request);
  } catch (error) {
    if (error instanceof AuthenticationError)
      return { kind: "dead", reason: `credential refused: ${error.message}` };
    return { kind: "retry", delayMs: 1_000, reason: (error as Error).message };
  }
  const response = await ingestFlowBatch(
    { db: deps.db, flowStore: deps.flowStore, device, ...(deps.limiter ? { limiter: deps.limiter } : {}) },
    request,
  );
  const body = (await response.json()) as {
    accepted?: number;
    duplicate?: boolean;
    error?: { message?: string };
  };
  if (response.status === 200)
    return { kind: "stored", records: body.accepted ?? 0, duplicate: body.duplicate === true };
  const reason = `HTTP ${response.status}: ${body.error?.message ?? "no message"}`;
  if (response.status === 429) {
    const seconds = Number(response.headers.get("retry-after"));
    return {
      kind: "retry",
      delayMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1_000,
      reason,
    };
  }
  if (response.status >= 500) return { kind: "retry", delayMs: 1_000, reason };
  // 400 (bad JSON, schema, wrong device, retention), 404 (plan gone), 413: retrying cannot help.
  return { kind: "dead", reason };
}

async function deadLetter(
  js: JetStreamClient,
  dlqSubject: string,
  msg: JsMsg,
  reason: string,
): Promise<void> {
  const h = headers();
  for (const [key, values] of msg.headers ?? []) for (const value of values) h.append(key, value);
  h.set(flowStreamHeaders.deadLetterReason, reason.slice(0, 1024));
  h.set("Kernflow-Original-Stream-Sequence", String(msg.seq));
  // Its own message id: the original's would be dropped as a duplicate if the same batch id were published
  // to the flow stream too (both streams share nothing, but the id says what it is).
  await js.publish(dlqSubject, msg.data, { headers: h, msgID: `dlq-${msg.info.stream}-${msg.seq}` });
}

/**
 * Consumes the flow stream until `signal` aborts. Survives NATS restarts (the client reconnects and the
 * consumer resumes where the stream's ack floor is); a message in flight when the worker dies is
 * redelivered to another worker after ackWaitMs.
 */
export async function runNatsIngest(
  deps: NatsIngestDeps,
  options: NatsIngestOptions,
  signal: AbortSignal,
  stats: NatsIngestStats = emptyNatsIngestStats(),
): Promise<NatsIngestStats> {
  const { server, subject } = parseNatsFlowUrl(options.url);
  const consumerName = options.consumer ?? DEFAULT_INGEST_CONSUMER;
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const concurrency = options.concurrency ?? 4;
  const { log } = options;
  const nc = await connect({ servers: server, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  try {
    const { stream, dlqSubject } = await ensureFlowStreams(nc, subject, consumerName, ackWaitMs);
    const js = jetstream(nc);
    log(`ingesting ${subject} (stream ${stream}, consumer ${consumerName}) from ${server}`);
    const inFlight = new Set<Promise<void>>();
    const handle = async (msg: JsMsg) => {
      const outcome = await ingestMessage(deps, msg).catch(
        (error: unknown): Outcome => ({ kind: "retry", delayMs: 1_000, reason: (error as Error).message }),
      );
      if (outcome.kind === "retry") {
        stats.retried++;
        log(`batch seq ${msg.seq} not stored (${outcome.reason}); redelivery in ${outcome.delayMs} ms`);
        msg.nak(outcome.delayMs);
        return;
      }
      if (outcome.kind === "dead") {
        try {
          await deadLetter(js, dlqSubject, msg, outcome.reason);
        } catch (error) {
          // Not acked: it comes back and is moved aside once the dead-letter stream takes it.
          msg.nak(1_000);
          log(`dead-letter publish failed: ${(error as Error).message}`);
          return;
        }
        stats.dead_lettered++;
        log(`batch seq ${msg.seq} moved to ${dlqSubject}: ${outcome.reason}`);
      } else if (outcome.duplicate) stats.batches_duplicate++;
      else {
        stats.batches_stored++;
        stats.records_stored += outcome.records;
      }
      // A lost ack only means a redelivery, which the store recognises by batch id.
      await msg.ackAck().catch(() => false);
    };
    while (!signal.aborted) {
      try {
        const consumer = await js.consumers.get(stream, consumerName);
        const messages = await consumer.consume({ max_messages: concurrency * 4, expires: 5_000 });
        const stop = () => messages.stop();
        signal.addEventListener("abort", stop, { once: true });
        try {
          for await (const msg of messages) {
            const task = handle(msg).finally(() => inFlight.delete(task));
            inFlight.add(task);
            if (inFlight.size >= concurrency) await Promise.race(inFlight);
            if (signal.aborted) break;
          }
        } finally {
          signal.removeEventListener("abort", stop);
        }
      } catch (error) {
        if (signal.aborted) break;
        log(`consumer interrupted (${(error as Error).message}); resuming`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    await Promise.all(inFlight);
  } finally {
    await nc.drain().catch(() => nc.close());
  }
  return stats;
}
