// How many flow batches one console process decodes, checks and stores at once. Each batch in work holds its
// parsed columns and COPY buffers (~6 MB for 10 000 records) until it is stored, and past a few at once
// they only compete for the same cores and rollup rows: measured with the ingest bench on 2 cores, console
// CPU 10.8–11.2 µs per record with 8 batches at once against 6.7–6.9 with 4 (garbage collection of the
// parsed batches held at once). Bodies are read before the gate (a slow upload never holds a slot) and
// wait in it still compressed (~0.4 MB per 10 000 records); past the waiting limits (count or bytes) a
// sender is answered 429 with a retry time, which agents honour, keeping the batch.
import { RateLimitedError } from "../errors";

/**
 * Batches in work at once per process: enough that one is parsed while others are in PostgreSQL. Not more
 * with more cores: the parsing runs on the process's one JavaScript thread (more console processes scale
 * it; the plan rate limits are shared between them).
 */
export const DEFAULT_INGEST_CONCURRENCY = 4;
/** Batches waiting for a turn, and their compressed bytes, beyond which a sender is told to retry. */
export const DEFAULT_INGEST_WAITING = 256;
export const DEFAULT_INGEST_WAITING_BYTES = 256 * 1024 * 1024;
const RETRY_AFTER_MS = 1000;

export class IngestGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private waitingBytes = 0;

  constructor(
    readonly limit = DEFAULT_INGEST_CONCURRENCY,
    readonly maxWaiting = DEFAULT_INGEST_WAITING,
    readonly maxWaitingBytes = DEFAULT_INGEST_WAITING_BYTES,
  ) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`ingest gate limit ${limit}: must be ≥ 1`);
  }

  /**
   * Runs `work` (on a body of `bytes`) when fewer than `limit` others run, in arrival order; throws
   * RateLimitedError when the waiting line is full.
   */
  async run<T>(bytes: number, work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.maxWaiting || this.waitingBytes + bytes > this.maxWaitingBytes) {
        throw new RateLimitedError(
          `console busy: ${this.running} flow batches being stored and ${this.waiting.length} waiting; keep the batch and retry after ${RETRY_AFTER_MS / 1000} s`,
          new Date(Date.now() + RETRY_AFTER_MS),
        );
      }
      // The slot is handed over by the finishing batch (running stays counted), so no later arrival can
      // take it first.
      this.waitingBytes += bytes;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      this.waitingBytes -= bytes;
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  get busy(): { running: number; waiting: number; waitingBytes: number } {
    return { running: this.running, waiting: this.waiting.length, waitingBytes: this.waitingBytes };
  }
}

/** The gate of this process's flow ingest (HTTP and NATS share the process's cores). */
export const processIngestGate = new IngestGate();
