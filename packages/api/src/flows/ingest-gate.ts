// How many flow batches one console process reads, checks and stores at once. Each batch in work holds its
// parsed columns and COPY buffers (~6 MB for 10 000 records) until it is stored, and past a few at once
// they only compete for the same cores and rollup rows: measured with the ingest bench on 2 cores,
// 110–116k records/s with 4 in flight, 88k with 8 (twice the garbage collection per record, lock waits
// on shared rollup rows). Batches past the limit wait their turn unread (their bodies stay in the socket,
// so TCP holds the sender back); past the waiting limit they are answered 429 with a retry time, which the
// agents honour keeping the batch.
import { RateLimitedError } from "../errors";

/**
 * Batches in work at once per process: enough that one is parsed while others are in PostgreSQL. Not more
 * with more cores: the parsing runs on the process's one JavaScript thread (more console processes scale
 * it; the plan rate limits are shared between them).
 */
export const DEFAULT_INGEST_CONCURRENCY = 4;
/** Batches waiting for a turn, beyond which a sender is told to retry. */
export const DEFAULT_INGEST_WAITING = 256;
const RETRY_AFTER_MS = 1000;

export class IngestGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly limit = DEFAULT_INGEST_CONCURRENCY,
    readonly maxWaiting = DEFAULT_INGEST_WAITING,
  ) {}

  /** Runs `work` when fewer than `limit` others run, in arrival order; throws RateLimitedError when full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.maxWaiting) {
        throw new RateLimitedError(
          `console busy: ${this.running} flow batches being stored and ${this.waiting.length} waiting; keep the batch and retry after ${RETRY_AFTER_MS / 1000} s`,
          new Date(Date.now() + RETRY_AFTER_MS),
        );
      }
      // The slot is handed over by the finishing batch (running stays counted), so no later arrival can
      // take it first.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
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

  get busy(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}

/** The gate of this process's flow ingest (HTTP and NATS share the process's cores). */
export const processIngestGate = new IngestGate();
