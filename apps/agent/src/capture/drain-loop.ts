import { setTimeout as sleep } from "node:timers/promises";
import type { FlowRecord } from "@kernflow/protocol";
import type { CaptureEngine } from "./engine";

export interface DrainTotals {
  intervals: number;
  records: number;
  packets: number;
  bytes: number;
  /** Records per second of the last interval. */
  flowsPerSecond: number;
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

/**
 * Drives a {@link CaptureEngine}: drains it every interval (changeable while running) and re-reads the
 * interface list every `pollMs` so new interfaces are picked up. Ends when `signal` aborts (or the
 * interface poll fails), after closing the engine and handing over its last records.
 */
export class DrainLoop {
  readonly totals: DrainTotals = { intervals: 0, records: 0, packets: 0, bytes: 0, flowsPerSecond: 0 };
  private wake = new AbortController();
  private lastDrainAt = Date.now();

  constructor(
    private readonly engine: CaptureEngine,
    private interval: number,
    private readonly onRecords: (records: FlowRecord[]) => void | Promise<void>,
    private readonly pollMs = 1_000,
  ) {}

  get intervalMs(): number {
    return this.interval;
  }

  /** Takes effect at once: the next drain is due `ms` after the last one. */
  setIntervalMs(ms: number): void {
    if (ms === this.interval) return;
    this.interval = ms;
    this.wake.abort();
  }

  private async handOver(records: FlowRecord[]): Promise<void> {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.lastDrainAt) / 1000);
    this.lastDrainAt = now;
    this.totals.intervals++;
    this.totals.records += records.length;
    this.totals.flowsPerSecond = records.length / seconds;
    for (const r of records) {
      this.totals.packets += r.packets;
      this.totals.bytes += r.bytes;
    }
    if (records.length > 0) await this.onRecords(records);
  }

  async run(signal: AbortSignal): Promise<DrainTotals> {
    const stopPolling = new AbortController();
    const pollFailed = new AbortController();
    let pollError: unknown;
    const pollLoop = (async () => {
      while (!stopPolling.signal.aborted) {
        await pause(this.pollMs, stopPolling.signal);
        if (!stopPolling.signal.aborted) await this.engine.syncInterfaces();
      }
    })().catch((error) => {
      // A failing interface poll must end the capture instead of silently stopping discovery.
      pollError = error;
      pollFailed.abort();
    });
    const either = AbortSignal.any([signal, pollFailed.signal]);
    try {
      while (!either.aborted) {
        const due = this.lastDrainAt + this.interval;
        const wake = this.wake.signal;
        await pause(Math.max(0, due - Date.now()), AbortSignal.any([either, wake]));
        if (either.aborted) break;
        if (wake.aborted) {
          this.wake = new AbortController();
          continue;
        }
        await this.handOver(await this.engine.drain());
      }
    } finally {
      stopPolling.abort();
      await pollLoop;
      const last = await this.engine.close();
      await this.handOver(last);
    }
    if (pollError !== undefined) throw pollError;
    return this.totals;
  }
}
