// Retention per plan: a plan's day partitions (raw and rollup) whose whole day is older than the plan's
// retention are dropped — whole tables, never rows deleted. Because partitions are per plan, plans with
// different retention never share a partition, so no plan keeps data longer or shorter than it says.
import type pg from "pg";
import {
  DAY_MILLISECONDS,
  FLOW_SCHEMA,
  listDayPartitions,
  type PartitionManager,
  qualified,
} from "./partitions";

export interface PlanRetention {
  planId: string;
  retentionDays: number;
}
export interface RetentionResult {
  /** Names of the partitions dropped. */
  dropped: string[];
  /** Idempotency rows of batches older than every plan's retention, deleted (a retry that late has no rows left to double). */
  batchesForgotten: number;
  /** Endpoint identities and rollup dimension keys no remaining partition can refer to, deleted. */
  dictionaryKeysPruned: number;
}

export async function applyRetention(
  pool: pg.Pool,
  partitions: PartitionManager,
  plans: readonly PlanRetention[],
  now: Date,
): Promise<RetentionResult> {
  const retention = new Map(plans.map((p) => [p.planId, p.retentionDays]));
  const dropped: string[] = [];
  for (const part of await listDayPartitions(pool)) {
    const days = retention.get(part.planId);
    // A plan that is not listed (deleted, or not known to the caller) is left alone: dropping data needs a
    // stated retention.
    if (days === undefined) continue;
    const cutoff = now.getTime() - days * DAY_MILLISECONDS;
    if (part.dayStartMs + DAY_MILLISECONDS > cutoff) continue;
    // DROP takes an exclusive lock on the parent briefly; queries and writes wait for it, none fail.
    await pool.query(`DROP TABLE IF EXISTS ${qualified(part.name)}`);
    partitions.forget(part.planId, part.dayStartMs);
    dropped.push(part.name);
  }
  if (plans.length === 0) return { dropped, batchesForgotten: 0, dictionaryKeysPruned: 0 };
  const longest = Math.max(...plans.map((p) => p.retentionDays));
  const forgotten = await pool.query(`DELETE FROM ${FLOW_SCHEMA}.batches WHERE received_at < $1`, [
    new Date(now.getTime() - (longest + 1) * DAY_MILLISECONDS),
  ]);
  return {
    dropped,
    batchesForgotten: forgotten.rowCount ?? 0,
    dictionaryKeysPruned: await pruneDictionaries(pool, now),
  };
}

/**
 * Deletes dictionary keys (flows.endpoints, flows.rollup_dims) that no remaining day partition, of any
 * plan, can refer to. A row of day D was written when its writer's day was D - 1 at the earliest (records
 * are refused more than minutes ahead of the clock), and a writer confirms every key it uses on the day it
 * uses it (dictionary.ts), so the keys of the oldest remaining day D were all confirmed on D - 1 or later.
 * One more day of margin covers clocks of consoles and database that disagree around midnight.
 */
async function pruneDictionaries(pool: pg.Pool, now: Date): Promise<number> {
  const oldest = (await listDayPartitions(pool))[0]?.dayStartMs ?? Number.POSITIVE_INFINITY;
  const today = Math.floor(now.getTime() / DAY_MILLISECONDS) * DAY_MILLISECONDS;
  const before = new Date(Math.min(oldest, today) - 2 * DAY_MILLISECONDS).toISOString().slice(0, 10);
  let pruned = 0;
  for (const table of ["endpoints", "rollup_dims"]) {
    const result = await pool.query(`DELETE FROM ${FLOW_SCHEMA}.${table} WHERE last_seen < $1::date`, [
      before,
    ]);
    pruned += result.rowCount ?? 0;
  }
  return pruned;
}
