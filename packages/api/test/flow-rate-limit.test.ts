// The plan's flows-per-second bucket lives in PostgreSQL, so limiters of different console processes (here:
// two instances over two connections) draw on one allowance; refunds, rate changes and a late clock.
import { createPrismaClient } from "@kernflow/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlowRateLimiter } from "../src/flows/rate-limit";
import { createHarness, type Harness } from "./harness";

let h: Harness;
let other: Harness["db"];
beforeAll(async () => {
  h = await createHarness();
  other = createPrismaClient(h.database.url);
});
afterAll(async () => {
  await other?.$disconnect();
  await h?.cleanup();
});

async function plan(name: string) {
  return (await h.db.plan.create({ data: { name, maxFlowsPerSecond: 10, maxDevices: 1, retentionDays: 7 } }))
    .id;
}

describe("flow rate limiter", () => {
  it("is one bucket for every console process: what one takes, the other cannot", async () => {
    const planId = await plan("shared");
    let clock = Date.now();
    const a = new FlowRateLimiter(h.db, 30, () => clock);
    const b = new FlowRateLimiter(other, 30, () => clock);
    // 30 s of burst at 10/s = 300 records, taken by process a.
    expect(await a.take(planId, 10, 300)).toEqual({ retryAfterSeconds: 0 });
    // Process b finds the bucket empty: 50 records need 5 s.
    expect(await b.take(planId, 10, 50)).toEqual({ retryAfterSeconds: 5 });
    clock += 5000;
    expect(await b.take(planId, 10, 50)).toEqual({ retryAfterSeconds: 0 });
    expect(await a.take(planId, 10, 1)).toEqual({ retryAfterSeconds: 1 });
    // A refund (a duplicate batch stored nothing) is visible to the other process at once.
    await b.refund(planId, 50);
    expect(await a.take(planId, 10, 50)).toEqual({ retryAfterSeconds: 0 });
  });

  it("lets concurrent takers through exactly up to the bucket, no more", async () => {
    const planId = await plan("concurrent");
    const clock = Date.now();
    const limiters = [h.db, other].map((db) => new FlowRateLimiter(db, 30, () => clock));
    // 40 takes of 10 records from two processes at once against a bucket of 300: exactly 30 pass.
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (limiters[i % 2] as FlowRateLimiter).take(planId, 10, 10)),
    );
    expect(results.filter((r) => r.retryAfterSeconds === 0)).toHaveLength(30);
  });

  it("slows an oversized batch instead of refusing it forever, and restarts the bucket when the rate changes", async () => {
    const planId = await plan("oversized");
    let clock = Date.now();
    const l = new FlowRateLimiter(h.db, 30, () => clock);
    // 1,000 records against a full bucket of 300: passes, and leaves the bucket 700 in debt.
    expect(await l.take(planId, 10, 1000)).toEqual({ retryAfterSeconds: 0 });
    expect(await l.take(planId, 10, 10)).toEqual({ retryAfterSeconds: 71 });
    // A clock that runs behind (another host's) does not refill the bucket backwards.
    clock -= 60_000;
    expect(await l.take(planId, 10, 10)).toEqual({ retryAfterSeconds: 71 });
    // The plan's rate raised: the bucket restarts at the new rate, capped, not refilled.
    expect((await l.take(planId, 1000, 10)).retryAfterSeconds).toBe(1);
  });
});
