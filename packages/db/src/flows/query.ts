// Runs a planned flow query and shapes the rows into the protocol's FlowQueryResult.
import type { FlowQuery, FlowQueryResult, FlowSeries } from "@kernflow/protocol";
import type pg from "pg";
import { type FlowQueryScope, InvalidFlowQueryError, isVolumeMetric, planFlowQuery } from "./query-plan";

export type { FlowQueryScope };
export { InvalidFlowQueryError };

const units = {
  bits_per_s: "bit/s",
  packets_per_s: "packet/s",
  retransmits_per_s: "retransmit/s",
  app_latency_ms: "ms",
  rtt_ms: "ms",
} as const;

interface Row {
  rank: string | null;
  k: string | null;
  bi: number | null;
  whole: number;
  value: number | null;
  bytes: number;
  packets: number;
  records: number;
}

export async function runFlowQuery(
  pool: pg.Pool,
  query: FlowQuery,
  scope: FlowQueryScope,
): Promise<FlowQueryResult> {
  const plan = planFlowQuery(query, scope);
  const { grid } = plan;
  const rows = await runPlanned(pool, plan.sql, plan.params);
  const volume = isVolumeMetric(query.metric);
  const bucketMs = grid.bucketSeconds * 1000;
  // Seconds of each bucket inside the range (the last one of an absolute range may be short).
  const widths = Array.from(
    { length: grid.bucketCount },
    (_, i) => (Math.min(grid.toMs, grid.fromMs + (i + 1) * bucketMs) - (grid.fromMs + i * bucketMs)) / 1000,
  );
  const rangeSeconds = (grid.toMs - grid.fromMs) / 1000;

  const byRank = new Map<string, FlowSeries & { rank: number }>();
  for (const row of rows) {
    const id = row.rank ?? "other";
    let series = byRank.get(id);
    if (!series) {
      series = {
        rank: row.rank === null ? Number.POSITIVE_INFINITY : Number(row.rank),
        key:
          row.k === null
            ? query.group_by.map(() => null)
            : (JSON.parse(row.k) as (string | null)[]).map(keyText),
        other: row.rank === null,
        points: widths.map(() => null),
        summary: null,
        bytes: 0,
        packets: 0,
        records: 0,
      };
      byRank.set(id, series);
    }
    if (row.whole === 1) {
      series.summary = row.value === null ? null : volume ? row.value / rangeSeconds : row.value;
      series.bytes = row.bytes;
      series.packets = row.packets;
      series.records = row.records;
    } else if (row.bi !== null && row.bi >= 0 && row.bi < widths.length) {
      series.points[row.bi] =
        row.value === null ? null : volume ? row.value / (widths[row.bi] as number) : row.value;
    }
  }
  const series = [...byRank.values()].sort((a, b) => a.rank - b.rank).map(({ rank: _rank, ...s }) => s);
  return {
    metric: query.metric,
    aggregate: query.aggregate,
    unit: units[query.metric],
    vantage: plan.vantage,
    group_by: query.group_by,
    from: new Date(grid.fromMs).toISOString(),
    to: new Date(grid.toMs).toISOString(),
    bucket_seconds: grid.bucketSeconds,
    buckets: widths.map((_, i) => new Date(grid.fromMs + i * bucketMs).toISOString()),
    series,
  };
}

/**
 * Runs the statement with nested loops off: its only joins are between an aggregate and a handful of keys
 * (or the rollup and its dimension table), where a hash join is always right, but without fresh statistics
 * (partitioned parents are never auto-analysed) the planner may pick a nested loop that takes minutes. JIT
 * is off too: compiling costs more than it saves on these short aggregates. work_mem is raised for the
 * statement: an hour of raw records of a 10-node fleet (~2M) spilled its sorts and the CTE to disk at the
 * default 4 MB (measured ~10-15% more CPU for a p95 by workload); 64 MB per sort or hash stays modest.
 */
export const QUERY_SETTINGS =
  "SET LOCAL enable_nestloop = off; SET LOCAL jit = off; SET LOCAL work_mem = '64MB'";

/** Runs a planned statement read-only under {@link QUERY_SETTINGS}. */
async function runPlanned(pool: pg.Pool, sql: string, params: unknown[]): Promise<Row[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN READ ONLY");
    await client.query(QUERY_SETTINGS);
    const { rows } = await client.query<Row>(sql, params);
    await client.query("COMMIT");
    return rows;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

// json_build_array keeps integers as JSON numbers only when not cast; dimensions are sent as text, but be
// tolerant so a key is always string-or-null.
function keyText(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}
