/** Exponential backoff with jitter for retries while the console is away: 0.5 s, 1 s, 2 s … capped at
 * 30 s, each delay drawn between half and all of its step so a fleet that lost the console together
 * does not come back in lockstep. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 500,
    private readonly maxMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next retry; each call doubles the step until the cap. */
  next(): number {
    const step = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(step / 2 + (this.random() * step) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }

  get failures(): number {
    return this.attempt;
  }
}
