// A fixed-window counter per key, in process memory. Several console processes each keep their own, which
// multiplies the allowance by the process count: acceptable for slowing down password guessing from one IP,
// while the per-account lockout (stored in the database) is the limit that holds across processes.
export class FixedWindowRateLimiter {
  private readonly windows = new Map<string, { startedAt: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one attempt; returns when the caller may try again if the limit is exceeded, else null. */
  hit(key: string): Date | null {
    const now = this.now();
    this.evictExpired(now);
    let window = this.windows.get(key);
    if (!window || now - window.startedAt >= this.windowMs) {
      window = { startedAt: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count += 1;
    return window.count > this.limit ? new Date(window.startedAt + this.windowMs) : null;
  }

  reset(key: string): void {
    this.windows.delete(key);
  }

  get size(): number {
    return this.windows.size;
  }

  // Bounded memory: stale windows are dropped lazily instead of by a timer, which would keep the process alive.
  private evictExpired(now: number): void {
    if (this.windows.size < 1024) return;
    for (const [key, window] of this.windows) {
      if (now - window.startedAt >= this.windowMs) this.windows.delete(key);
    }
  }
}
