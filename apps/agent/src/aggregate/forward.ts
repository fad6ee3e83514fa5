import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { agentPaths, type FlowRecord, flowBatchResponseSchema, packFlowBatch } from "@kernflow/protocol";
import { NatsFlowPublisher, NatsUnavailableError } from "../transport/nats";
import type { Origin } from "./join";

const gzipAsync = promisify(gzip);

/**
 * Forwards joined records to the console over the agent protocol, in batches attributed to the credential
 * the records arrived with: the console authenticates the real device, the aggregator adds no auth of
 * its own. A batch's id is derived from the ids of the records in it, so a retry (or the same records
 * cut the same way again) is recognised by the console's idempotent ingest and never stored twice.
 */
export interface ForwarderOptions {
  serverUrl: string;
  /** `nats://HOST:PORT/SUBJECT`: publish batches to JetStream first, post to serverUrl while NATS is away. */
  natsUrl?: string;
  /** Records per batch sent (the protocol allows 100 000). */
  maxBatchRecords: number;
  /** Records held for sending at most (buffers, queue, in flight); beyond it the aggregator answers 429. */
  maxQueuedRecords: number;
  concurrency: number;
  retryMinMs: number;
  retryMaxMs: number;
  log: (msg: string) => void;
}

export interface ForwardMetrics {
  /** Records the console accepted (or already had: a duplicate batch). */
  forwarded: number;
  /** Of those, through NATS JetStream (the rest went over HTTP). */
  forwarded_nats: number;
  /** Records given up: the console refused their batch for good (bad credential, bad input). */
  dropped: number;
  batches_sent: number;
  batches_duplicate: number;
  retries: number;
  queued: number;
  /** The latest failure (kept after later successes, so a refusal stays visible). */
  last_error: string | null;
}

interface Batch {
  sender: number;
  batchId: string;
  records: FlowRecord[];
}

/** A UUID (RFC 9562 version 8, "custom") from a SHA-256: the same input always names the same batch. */
export function derivedUuid(material: string): string {
  const bytes = createHash("sha256").update(material).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

class PermanentRefusal extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export class ConsoleForwarder {
  private readonly credentials: string[] = [];
  private readonly slots = new Map<string, number>();
  private readonly buffers = new Map<number, { records: FlowRecord[]; ids: string[] }>();
  private readonly queue: Batch[] = [];
  private readonly counts = {
    forwarded: 0,
    forwarded_nats: 0,
    dropped: 0,
    batches_sent: 0,
    batches_duplicate: 0,
    retries: 0,
  };
  private lastError: string | null = null;
  /**
   * The console refused a packed batch with 400 and took the same batch as whole records (it does not read
   * the packed form): whole records from then on (this run).
   */
  private packedRefused = false;
  private bufferedRecords = 0;
  private queuedRecords = 0;
  private wake: (() => void) | null = null;

  private nats: NatsFlowPublisher | null = null;
  private natsRetryAt = 0;
  private natsConnecting: Promise<NatsFlowPublisher | null> | null = null;

  constructor(private readonly options: ForwarderOptions) {}

  /** The JetStream publisher, connected at most every few seconds while NATS is away. */
  private async natsPublisher(): Promise<NatsFlowPublisher | null> {
    const url = this.options.natsUrl;
    if (url === undefined) return null;
    if (this.nats !== null) return this.nats;
    if (this.natsConnecting !== null) return this.natsConnecting;
    if (Date.now() < this.natsRetryAt) return null;
    this.natsConnecting = NatsFlowPublisher.connect(url, { timeoutMs: 2_000 })
      .then((publisher) => {
        this.nats = publisher;
        this.options.log(`forward: publishing to ${url}`);
        return publisher;
      })
      .catch((error: unknown) => {
        this.natsRetryAt = Date.now() + 5_000;
        this.options.log(`forward: ${(error as Error).message}; posting to the console meanwhile`);
        return null;
      })
      .finally(() => {
        this.natsConnecting = null;
      });
    return this.natsConnecting;
  }

  async close(): Promise<void> {
    await this.nats?.close();
    this.nats = null;
  }

  /** A small number standing for a credential, so held records do not each carry the secret. */
  senderSlot(credential: string): number {
    let slot = this.slots.get(credential);
    if (slot === undefined) {
      slot = this.credentials.length;
      this.credentials.push(credential);
      this.slots.set(credential, slot);
    }
    return slot;
  }

  /** Whether more records may be accepted from agents now (else they are told to retry later). */
  hasRoomFor(records: number): boolean {
    return this.held() + records <= this.options.maxQueuedRecords;
  }

  push(record: FlowRecord, origin: Origin): void {
    let buffer = this.buffers.get(origin.sender);
    if (buffer === undefined) {
      buffer = { records: [], ids: [] };
      this.buffers.set(origin.sender, buffer);
    }
    buffer.records.push(record);
    buffer.ids.push(origin.id);
    this.bufferedRecords++;
    if (buffer.records.length >= this.options.maxBatchRecords) this.cut(origin.sender);
  }

  /** Turns every partly filled buffer into a batch (called on a timer, and at shutdown). */
  cutAll(): void {
    for (const sender of [...this.buffers.keys()]) this.cut(sender);
  }

  metrics(): ForwardMetrics {
    return { ...this.counts, queued: this.held(), last_error: this.lastError };
  }

  /** Sends batches until `signal` aborts; then returns once in-flight sends ended. */
  async run(signal: AbortSignal): Promise<void> {
    const workers = Array.from({ length: this.options.concurrency }, () => this.work(signal));
    await Promise.all(workers);
  }

  /** Resolves when nothing is buffered, queued or in flight, or when `signal` aborts. */
  async drained(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (this.held() === 0) return true;
      await sleep(20, undefined, { signal }).catch(() => {});
    }
    return this.held() === 0;
  }

  private held(): number {
    return this.bufferedRecords + this.queuedRecords;
  }

  private cut(sender: number): void {
    const buffer = this.buffers.get(sender);
    if (buffer === undefined || buffer.records.length === 0) return;
    this.buffers.delete(sender);
    this.bufferedRecords -= buffer.records.length;
    this.queuedRecords += buffer.records.length;
    const credentialDigest = createHash("sha256")
      .update(this.credentials[sender] as string)
      .digest("hex");
    const batchId = derivedUuid(`${credentialDigest}\n${buffer.ids.join("\n")}`);
    this.queue.push({ sender, batchId, records: buffer.records });
    this.wake?.();
  }

  private async work(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const batch = this.queue.shift();
      if (batch === undefined) {
        await new Promise<void>((resolve) => {
          const done = () => {
            this.wake = null;
            signal.removeEventListener("abort", done);
            resolve();
          };
          this.wake = done;
          signal.addEventListener("abort", done, { once: true });
        });
        continue;
      }
      try {
        await this.deliver(batch, signal);
      } finally {
        this.queuedRecords -= batch.records.length;
      }
    }
  }

  /**
   * Sends one batch until the console takes it or refuses it for good. The console is sent the packed form
   * (by column, each endpoint and record context once: smaller, and cheaper for it to read; whole records
   * once a console has refused that with a 400 and then taken whole records); the NATS stream carries whole
   * records, its documented format (flow-stream.ts). Each body is made once, when first needed, and kept for
   * retries.
   */
  private async deliver(batch: Batch, signal: AbortSignal): Promise<void> {
    let packedBody: Buffer | undefined;
    let wholeBody: Buffer | undefined;
    /** The console refused this batch packed (400): it goes whole, to learn whether the form was the cause. */
    let packedRefusedHere = false;
    let delayMs = this.options.retryMinMs;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) this.counts.retries++;
      const publisher = await this.natsPublisher();
      if (publisher !== null) {
        try {
          wholeBody ??= await gzipAsync(JSON.stringify({ batch_id: batch.batchId, records: batch.records }));
          await publisher.publishEncoded(batch.batchId, wholeBody, this.credentials[batch.sender] as string);
          this.counts.batches_sent++;
          this.counts.forwarded += batch.records.length;
          this.counts.forwarded_nats += batch.records.length;
          return;
        } catch (error) {
          if (!(error instanceof NatsUnavailableError)) throw error;
          // The same batch id either way: if the stream did store it, the flow store drops the HTTP copy.
          this.lastError = error.message;
        }
      }
      const packed = !this.packedRefused && !packedRefusedHere;
      try {
        if (packed)
          packedBody ??= await gzipAsync(JSON.stringify(packFlowBatch(batch.batchId, batch.records)));
        else
          wholeBody ??= await gzipAsync(JSON.stringify({ batch_id: batch.batchId, records: batch.records }));
        const duplicate = await this.post(batch, (packed ? packedBody : wholeBody) as Buffer, signal);
        if (packedRefusedHere && !this.packedRefused) {
          this.packedRefused = true;
          this.options.log(
            "forward: the console took as whole records a batch it refused packed; sending whole records from now on (an older console?)",
          );
        }
        this.counts.batches_sent++;
        if (duplicate) this.counts.batches_duplicate++;
        this.counts.forwarded += batch.records.length;
        return;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof PermanentRefusal && error.status === 400 && packed) {
          // Perhaps a console that does not read the column layout (older than packing, or of the version
          // that packed by row), perhaps a bad batch (another device's records, a clock ahead, past
          // retention): this batch goes again at once as whole records, which every console takes. Only if
          // that is taken do later batches go whole too; refused as well, the records are dropped below and
          // later batches still go packed.
          packedRefusedHere = true;
          this.options.log(`forward: ${message}; sending batch ${batch.batchId} again as whole records`);
          continue;
        }
        if (error instanceof PermanentRefusal) {
          this.counts.dropped += batch.records.length;
          this.lastError = message;
          this.options.log(`forward: dropped ${batch.records.length} record(s): ${message}`);
          return;
        }
        if (this.lastError !== message) this.options.log(`forward: ${message}; retrying`);
        this.lastError = message;
        const retryAfter = (error as { retryAfterMs?: number }).retryAfterMs;
        // Retried without end while running: the console being away must not lose records. At shutdown
        // the caller decides how long to wait; what is still unsent then is reported, not hidden.
        if (signal.aborted) {
          this.counts.dropped += batch.records.length;
          return;
        }
        await sleep(retryAfter ?? delayMs, undefined, { signal }).catch(() => {});
        delayMs = Math.min(delayMs * 2, this.options.retryMaxMs);
      }
    }
  }

  private async post(batch: Batch, body: Buffer, signal: AbortSignal): Promise<boolean> {
    const response = await fetch(new URL(agentPaths.flows, this.options.serverUrl), {
      method: "POST",
      headers: {
        authorization: `Bearer ${this.credentials[batch.sender]}`,
        "content-type": "application/json",
        "content-encoding": "gzip",
      },
      body,
      signal,
    });
    const text = await response.text();
    if (response.ok) {
      const parsed = flowBatchResponseSchema.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error(`console answered an unexpected body: ${text.slice(0, 200)}`);
      return parsed.data.duplicate;
    }
    const reason = `console answered HTTP ${response.status}: ${text.slice(0, 300)}`;
    if (response.status === 429 || response.status >= 500) {
      const seconds = Number(response.headers.get("retry-after"));
      const error = new Error(reason) as Error & { retryAfterMs?: number };
      if (Number.isFinite(seconds) && seconds > 0) error.retryAfterMs = Math.min(seconds * 1000, 60_000);
      throw error;
    }
    throw new PermanentRefusal(reason, response.status);
  }
}
