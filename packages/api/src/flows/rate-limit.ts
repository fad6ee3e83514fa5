// The plan's maxFlowsPerSecond, enforced on ingest with one token bucket per plan kept in PostgreSQL
// (flows.rate_buckets, flows.take_flow_tokens), so every console process and NATS ingest worker draws on the
// same allowance: in-memory buckets let N processes take N times the plan's rate. One statement per batch.
import type { Db } from "../db";

export interface FlowAllowance {
  /** 0 when the batch may be written; otherwise the seconds to wait before retrying. */
  retryAfterSeconds: number;
}

export class FlowRateLimiter {
  /**
   * @param burstSeconds how many seconds of the plan's rate may arrive at once: agents ship one batch per
   *   interval (10 s by default), and after an outage they drain their spool.
   * @param now the clock (tests move it); the bucket never runs time back if clocks of processes differ.
   */
  constructor(
    private readonly db: Db,
    private readonly burstSeconds = 30,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `count` tokens from the plan's bucket if it holds enough (see flows.take_flow_tokens). */
  async take(planId: string, ratePerSecond: number, count: number): Promise<FlowAllowance> {
    const rows = await this.db.$queryRaw<{ wait: number }[]>`
      SELECT flows.take_flow_tokens(${planId}::uuid, ${ratePerSecond}::float8, ${this.burstSeconds}::float8,
                                    ${count}::float8, ${new Date(this.now())}::timestamptz) AS wait`;
    return { retryAfterSeconds: Number(rows[0]?.wait ?? 0) };
  }

  /** Gives tokens back (a duplicate batch or a failed write stored nothing). */
  async refund(planId: string, count: number): Promise<void> {
    await this.db.$executeRaw`
      UPDATE flows.rate_buckets SET tokens = least(rate * ${this.burstSeconds}::float8, tokens + ${count}::float8)
       WHERE plan_id = ${planId}::uuid`;
  }
}
