import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { FlowRecord } from "@kernflow/protocol";
import type { RecordSink } from "../sinks/sink";
import { NatsFlowPublisher, NatsUnavailableError } from "./nats";

/** Batches kept for a NATS server that is away; beyond this the oldest are given up (and counted). */
const maxQueuedBatches = 1_000;

/**
 * `capture --export nats://HOST:PORT/SUBJECT`: every drained batch of records is published to JetStream
 * (format: packages/protocol/src/flow-stream.ts) without a credential header, as an export anyone
 * subscribed may read. Writes queue and return at once, so an absent server never holds up the drain;
 * a background loop (re)connects and publishes in order, each batch under one id, so a retry after a lost
 * acknowledgement is dropped by JetStream as a duplicate.
 */
export class NatsExportSink implements RecordSink {
  private readonly queue: { id: string; records: readonly FlowRecord[] }[] = [];
  private readonly stop = new AbortController();
  private readonly loop: Promise<void>;
  private wake: (() => void) | null = null;
  private publisher: NatsFlowPublisher | null = null;
  private lastError: string | null = null;
  published = 0;
  givenUp = 0;

  constructor(
    private readonly url: string,
    private readonly log: (msg: string) => void,
  ) {
    this.loop = this.run();
  }

  async write(records: readonly FlowRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.queue.push({ id: randomUUID(), records });
    while (this.queue.length > maxQueuedBatches) {
      this.givenUp += (this.queue.shift() as { records: readonly FlowRecord[] }).records.length;
    }
    this.wake?.();
  }

  /** Publishes what is queued (up to 5 s), then disconnects; reports what could not be sent. */
  async close(): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (this.queue.length > 0 && Date.now() < deadline) await sleep(50);
    this.stop.abort();
    this.wake?.();
    await this.loop;
    const left = this.queue.reduce((n, b) => n + b.records.length, 0) + this.givenUp;
    if (left > 0) this.log(`nats export ${this.url}: ${left} record(s) not published`);
    await this.publisher?.close();
  }

  private note(message: string): void {
    if (message !== this.lastError) this.log(`nats export ${this.url}: ${message}`);
    this.lastError = message;
  }

  private async run(): Promise<void> {
    let backoffMs = 250;
    while (!this.stop.signal.aborted) {
      const next = this.queue[0];
      if (next === undefined) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
        continue;
      }
      try {
        this.publisher ??= await NatsFlowPublisher.connect(this.url, { timeoutMs: 2_000 });
        await this.publisher.publish({ batch_id: next.id, records: [...next.records] }, "");
        this.queue.shift();
        this.published += next.records.length;
        this.lastError = null;
        backoffMs = 250;
      } catch (error) {
        if (!(error instanceof NatsUnavailableError)) throw error;
        this.note(`${error.message}; keeping ${this.queue.length} batch(es) and retrying`);
        await sleep(backoffMs, undefined, { signal: this.stop.signal }).catch(() => {});
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
  }
}
