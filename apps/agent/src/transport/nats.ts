import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { type FlowBatch, flowStreamHeaders, parseNatsFlowUrl, streamNameFor } from "@kernflow/protocol";
import { type JetStreamClient, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection, nanos } from "@nats-io/transport-node";

const gzipAsync = promisify(gzip);

/** NATS could not take a batch now (down, no stream, timeout): the caller keeps it (HTTP or spool). */
export class NatsUnavailableError extends Error {
  override readonly name = "NatsUnavailableError";
}

/** How long JetStream drops a re-published batch id (the flow store drops later ones itself). */
const duplicateWindowMs = 10 * 60_000;

/**
 * Publishes flow batches to a JetStream stream (format: packages/protocol/src/flow-stream.ts). Each
 * publish waits for JetStream's acknowledgement, so a batch counts as sent only once the stream stored
 * it; any failure throws NatsUnavailableError and the batch stays with the caller.
 */
export class NatsFlowPublisher {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    readonly subject: string,
    private readonly timeoutMs: number,
  ) {}

  /** Connects to `nats://HOST:PORT/SUBJECT` and makes sure the stream exists (creating it if not). */
  static async connect(url: string, options: { timeoutMs?: number } = {}): Promise<NatsFlowPublisher> {
    const { server, subject } = parseNatsFlowUrl(url);
    const timeoutMs = options.timeoutMs ?? 5_000;
    let nc: NatsConnection;
    try {
      // Reconnects without end: a restarted server is picked up again; publishes fail meanwhile.
      nc = await connect({
        servers: server,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        timeout: timeoutMs,
      });
    } catch (error) {
      throw new NatsUnavailableError(`cannot connect to NATS at ${server}: ${(error as Error).message}`);
    }
    try {
      await ensureFlowStream(nc, subject);
    } catch (error) {
      await nc.close();
      throw new NatsUnavailableError(`NATS at ${server}: ${(error as Error).message}`);
    }
    return new NatsFlowPublisher(nc, jetstream(nc, { timeout: timeoutMs }), subject, timeoutMs);
  }

  /** Stores one batch in the stream under `credential`; `duplicate` when the stream already had it. */
  async publish(batch: FlowBatch, credential: string): Promise<{ duplicate: boolean }> {
    return this.publishEncoded(batch.batch_id, await gzipAsync(JSON.stringify(batch)), credential);
  }

  /** As publish, for a batch already gzip-encoded (the HTTP body), so a fallback need not encode twice. */
  async publishEncoded(
    batchId: string,
    gzipBody: Uint8Array,
    credential: string,
  ): Promise<{ duplicate: boolean }> {
    const h = headers();
    h.set(flowStreamHeaders.encoding, "gzip");
    // An export without a credential (capture --export) carries no credential header at all.
    if (credential !== "") h.set(flowStreamHeaders.credential, credential);
    try {
      const ack = await this.js.publish(this.subject, gzipBody, {
        msgID: batchId,
        headers: h,
        timeout: this.timeoutMs,
      });
      return { duplicate: ack.duplicate };
    } catch (error) {
      throw new NatsUnavailableError(`publish to ${this.subject} failed: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/** The flow stream of `subject`, created when missing (idempotent; agents and workers both call it). */
export async function ensureFlowStream(nc: NatsConnection, subject: string): Promise<string> {
  const jsm = await jetstreamManager(nc);
  const name = streamNameFor(subject);
  try {
    await jsm.streams.info(name);
  } catch {
    await jsm.streams.add({
      name,
      subjects: [subject],
      storage: StorageType.File,
      duplicate_window: nanos(duplicateWindowMs),
    });
  }
  return name;
}
