import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type FlowRecord, packFlowBatch } from "@kernflow/protocol";
import { NatsUnavailableError } from "../transport/nats";
import { Backoff } from "./backoff";
import { type AgentClient, AgentHttpError } from "./client";
import type { NatsDestination } from "./nats-destination";
import type { BatchBodyForm, Spool, SpooledBatch } from "./spool";

/** The console no longer accepts this agent's credential: nothing will work until it enrolls again. */
export class CredentialRefusedError extends Error {
  override readonly name = "CredentialRefusedError";
  constructor() {
    super("credential refused: the device was deleted or the credential rotated; enroll again");
  }
}

/** Statuses that say the batch itself is wrong: sending it again can never succeed. */
const refusedForGood = new Set([400, 413, 415, 422]);

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

export interface ShipperEvents {
  log: (msg: string) => void;
  /** The last attempt failed (network, 5xx, 429): the console should show it once it is reachable. */
  onFailure: (message: string) => void;
  onSuccess: () => void;
}

/**
 * Sends spooled flow batches to the console (or the plan's aggregator) oldest first, one at a time, so they arrive in order. A
 * batch leaves the spool only when the console accepted it (or refused it as malformed, which is logged
 * as a loss); on a network error, 5xx or 429 the same batch is retried, after Retry-After when given.
 * With a NATS destination a batch is published to JetStream first and posted over HTTP only while NATS
 * cannot take it: the same batch id either way, so the idempotent flow store keeps it once.
 */
export class FlowShipper {
  private wake = new AbortController();
  readonly shipped = { batches: 0, records: 0, duplicates: 0 };
  private natsFailing = false;
  /**
   * A console that does not read the column layout (older than the packed form, or of the version that packed
   * by row) refused a packed batch with 400 and then took the same batch as whole records: whole records,
   * which every console takes, from then on (this run).
   */
  private packedRefused = false;
  /**
   * The batch the console last refused packed (400), sent again as whole records to learn why: taken, the
   * console does not read the packed form; refused too, the batch itself is bad (records of another device,
   * a clock ahead, past retention) and is dropped, and later batches still go packed.
   */
  private packedRefusedBatch: string | null = null;
  private readonly backoff: Backoff;

  constructor(
    private readonly spool: Spool,
    private readonly client: () => AgentClient,
    private readonly events: ShipperEvents,
    backoff?: Backoff,
    private readonly nats?: NatsDestination,
  ) {
    this.backoff = backoff ?? new Backoff();
  }

  /**
   * Spools the records as one batch (a fresh batch id) and wakes the sender. Packed by column for the
   * console (each endpoint and record context once: far less JSON, and far cheaper for it to read); whole
   * records while a NATS destination is configured, as its stream's consumers expect (flow-stream.ts).
   */
  enqueue(records: FlowRecord[]): void {
    if (records.length === 0) return;
    const batchId = randomUUID();
    this.spool.add(
      this.nats?.url === undefined ? packFlowBatch(batchId, records) : { batch_id: batchId, records },
    );
    this.wake.abort();
  }

  /** Tries to send one batch; returns the delay before the next try (0: go on at once). */
  private accepted(batch: SpooledBatch, duplicate: boolean): number {
    this.spool.remove(batch);
    this.shipped.batches++;
    this.shipped.records += batch.records;
    if (duplicate) this.shipped.duplicates++;
    if (this.backoff.failures > 0) this.events.log(`console accepts flow batches again`);
    this.backoff.reset();
    this.events.onSuccess();
    return 0;
  }

  /** Publishes to the NATS destination; false when there is none or it cannot take the batch now. */
  private async viaNats(batch: SpooledBatch): Promise<boolean> {
    if (this.nats?.url === undefined) return false;
    try {
      const body = await this.readable(batch, "records");
      if (body === null) return true;
      const answer = await this.nats.publish(batch.batchId, body);
      if (this.natsFailing) this.events.log(`NATS takes flow batches again`);
      this.natsFailing = false;
      this.accepted(batch, answer.duplicate);
      return true;
    } catch (error) {
      if (!(error instanceof NatsUnavailableError)) throw error;
      if (!this.natsFailing)
        this.events.log(`${error.message}; posting flow batches to the console meanwhile`);
      this.natsFailing = true;
      return false;
    }
  }

  /** The batch's body in `form`; null (the batch dropped and counted lost) if its file is unreadable. */
  private async readable(batch: SpooledBatch, form: BatchBodyForm): Promise<Buffer | null> {
    try {
      return await this.spool.bodyAs(batch, form);
    } catch (error) {
      this.spool.remove(batch);
      this.spool.lost.batches++;
      this.spool.lost.records += batch.records;
      this.events.log(
        `spooled batch ${batch.batchId} is unreadable (${(error as Error).message}); its ${batch.records} record(s) are dropped`,
      );
      return null;
    }
  }

  private async shipOne(batch: SpooledBatch, signal: AbortSignal): Promise<number> {
    if (await this.viaNats(batch)) return 0;
    const retryingWhole = this.packedRefusedBatch === batch.batchId;
    const form: BatchBodyForm = this.packedRefused || retryingWhole ? "records" : "packed";
    const body = await this.readable(batch, form);
    if (body === null) return 0;
    try {
      const answer = await this.client().postFlows(body, signal);
      if (retryingWhole) {
        this.packedRefusedBatch = null;
        this.packedRefused = true;
        this.events.log(
          `console took as whole records the batch it refused packed: sending whole records from now on (an older console?)`,
        );
      }
      return this.accepted(batch, answer.duplicate);
    } catch (error) {
      if (signal.aborted) return 0;
      if (error instanceof AgentHttpError && error.status === 401) throw new CredentialRefusedError();
      if (error instanceof AgentHttpError && error.status === 400 && form === "packed") {
        // Perhaps a console not yet upgraded, perhaps a bad batch (another device's records, a clock
        // ahead, past retention): the batch stays spooled and goes again at once as whole records, which
        // every console takes. Only if that is taken are later batches sent whole too; if it is refused as
        // well the batch is dropped below and packing goes on.
        this.packedRefusedBatch = batch.batchId;
        this.events.log(
          `console refused packed batch ${batch.batchId} (${error.message}); sending it again as whole records`,
        );
        return 0;
      }
      if (error instanceof AgentHttpError && refusedForGood.has(error.status)) {
        if (retryingWhole) this.packedRefusedBatch = null;
        this.spool.remove(batch);
        this.spool.lost.batches++;
        this.spool.lost.records += batch.records;
        this.events.log(
          `console refused batch ${batch.batchId} (${error.message}); its ${batch.records} record(s) are dropped`,
        );
        this.events.onFailure(`batch refused: ${error.message}`);
        return 0;
      }
      // Anything else (unreachable, 5xx, 429, an answer we cannot read: the batch may or may not have
      // been taken) is retried with the same batch id, which the console de-duplicates.
      const delay =
        error instanceof AgentHttpError && error.retryAfterMs !== null
          ? error.retryAfterMs
          : this.backoff.next();
      if (error instanceof AgentHttpError && error.retryAfterMs !== null) this.backoff.next();
      const message = error instanceof Error ? error.message : String(error);
      if (this.backoff.failures <= 1 || this.backoff.failures % 10 === 0)
        this.events.log(
          `shipping flows failed (${message}); ${this.spool.size} batch(es) spooled, retrying in ${delay} ms`,
        );
      this.events.onFailure(message);
      return delay;
    }
  }

  /** Ships until `signal` aborts. Throws {@link CredentialRefusedError} when the console refuses us. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const batch = this.spool.oldest();
      if (batch === undefined) {
        const wake = this.wake.signal;
        if (!wake.aborted) await pause(60_000, AbortSignal.any([signal, wake]));
        if (wake.aborted) this.wake = new AbortController();
        continue;
      }
      const delay = await this.shipOne(batch, signal);
      if (delay > 0) await pause(delay, signal);
    }
  }

  /** At shutdown: ships what it can within `ms`; whatever is left stays spooled for the next run. */
  async flush(ms: number): Promise<void> {
    const deadline = AbortSignal.timeout(ms);
    while (!deadline.aborted) {
      const batch = this.spool.oldest();
      if (batch === undefined) return;
      const delay = await this.shipOne(batch, deadline);
      if (delay > 0) return;
    }
  }
}
