/**
 * Exponential back-off for a collector that failed: the delay doubles from `minMs` to `maxMs` and starts
 * over after a success, with up to 20 % jitter so many exporters do not retry in step.
 */
export class Backoff {
  failures = 0;
  private retryAt = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when no failure is pending or its delay has passed. */
  ready(): boolean {
    return this.now() >= this.retryAt;
  }

  /** Records a failure; returns the delay before the next try. */
  failed(): number {
    this.failures += 1;
    const base = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.failures - 1, 30));
    const delay = Math.round(base * (1 + Math.random() * 0.2));
    this.retryAt = this.now() + delay;
    return delay;
  }

  succeeded(): void {
    this.failures = 0;
    this.retryAt = 0;
  }
}
