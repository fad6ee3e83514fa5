// The plan's maxFlowsPerSecond, enforced on ingest with a token bucket per plan, in process memory. Several
// console processes each keep their own bucket, so the fleet-wide allowance is multiplied by the process
// count; a shared limit would need the database on every batch, which costs more than it protects.

export interface FlowAllowance {
  /** 0 when the batch may be written; otherwise the seconds to wait before retrying. */
  retryAfterSeconds: number;
}

export class FlowRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; rate: number }>();

  /**
   * @param burstSeconds how many seconds of the plan's rate may arrive at once: agents ship one batch per
   *   interval (10 s by default), and after an outage they drain their spool.
   */
  constructor(
    private readonly burstSeconds = 30,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes `count` tokens from the plan's bucket if it holds enough. A batch larger than the whole bucket
   * passes when the bucket is full and leaves it in debt, so an oversized batch is slowed, never refused
   * forever.
   */
  take(planId: string, ratePerSecond: number, count: number): FlowAllowance {
    const now = this.now();
    const capacity = ratePerSecond * this.burstSeconds;
    let bucket = this.buckets.get(planId);
    if (!bucket || bucket.rate !== ratePerSecond) {
      // A new plan, or its rate changed: start full at the new rate (never above the new capacity).
      bucket = { tokens: Math.min(bucket?.tokens ?? capacity, capacity), at: now, rate: ratePerSecond };
      this.buckets.set(planId, bucket);
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * ratePerSecond);
    bucket.at = now;
    const needed = Math.min(count, capacity);
    if (bucket.tokens >= needed) {
      bucket.tokens -= count;
      return { retryAfterSeconds: 0 };
    }
    return { retryAfterSeconds: Math.max(1, Math.ceil((needed - bucket.tokens) / ratePerSecond)) };
  }

  /** Gives tokens back (a duplicate batch or a failed write stored nothing). */
  refund(planId: string, count: number): void {
    const bucket = this.buckets.get(planId);
    if (bucket) bucket.tokens = Math.min(bucket.rate * this.burstSeconds, bucket.tokens + count);
  }
}

/** The process's limiter, shared by every ingest request. */
export const defaultFlowRateLimiter = new FlowRateLimiter();
