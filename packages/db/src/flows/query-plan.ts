// Turns a parsed flow query into one SQL statement over raw records or the per-minute rollup. Pure: no
// database access, so the choices (time grid, source table, filters) are testable on their own.
import {
  type FlowDimension,
  type FlowFilter,
  type FlowMetric,
  type FlowQuery,
  volumeMetrics,
} from "@kernflow/protocol";
import { z } from "zod";
import { inetDimensions, integerDimensions, isRollupDimension } from "./columns";
import { FLOW_SCHEMA } from "./partitions";

/** A query the store cannot answer as asked (bad filter value, range too long for the bucket, ...). */
export class InvalidFlowQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidFlowQueryError";
  }
}

export interface FlowQueryScope {
  /** "Now" for relative ranges (tests pin it). */
  now?: Date;
  /** Only records of these plans; omitted = every plan. */
  planIds?: readonly string[];
  /**
   * Which table answers: `auto` (default) uses the coarsest rollup whose answer is identical; `rollup`
   * insists on that (an error when none is exact); `rollup_1m` the per-minute tier; `raw` the records.
   */
  source?: "auto" | "raw" | "rollup" | "rollup_1m";
}

/** Bucket widths chosen automatically (the smallest giving at most ~60 buckets). */
const NICE_BUCKETS = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];
export const MAX_BUCKETS = 2000;

export interface TimeGrid {
  fromMs: number;
  toMs: number;
  bucketSeconds: number;
  bucketCount: number;
}

export function autoBucketSeconds(rangeSeconds: number): number {
  return NICE_BUCKETS.find((b) => b * 60 >= rangeSeconds) ?? 86_400;
}

/**
 * The buckets of a query. An absolute range is used as given, buckets starting at `from` (the last one may
 * be shorter). A relative range ends at the end of the bucket holding "now" and starts a whole number of
 * buckets before, so live views keep a stable grid (and minute-wide buckets stay rollup-aligned).
 */
export function resolveTimeGrid(query: FlowQuery, now: Date): TimeGrid {
  let fromMs: number;
  let toMs: number;
  let bucketSeconds: number;
  if ("last_seconds" in query.range) {
    bucketSeconds = query.bucket_seconds ?? autoBucketSeconds(query.range.last_seconds);
    const b = bucketSeconds * 1000;
    toMs = Math.ceil(now.getTime() / b) * b;
    if (toMs === now.getTime()) toMs += b;
    fromMs = toMs - Math.ceil((query.range.last_seconds * 1000) / b) * b;
  } else {
    fromMs = Date.parse(query.range.from);
    toMs = Date.parse(query.range.to);
    if (!(toMs > fromMs)) throw new InvalidFlowQueryError("range: `to` must be after `from`");
    bucketSeconds = query.bucket_seconds ?? autoBucketSeconds((toMs - fromMs) / 1000);
  }
  const bucketCount = Math.ceil((toMs - fromMs) / (bucketSeconds * 1000));
  if (bucketCount > MAX_BUCKETS) {
    throw new InvalidFlowQueryError(
      `range holds ${bucketCount} buckets of ${bucketSeconds} s; at most ${MAX_BUCKETS}: choose a wider bucket`,
    );
  }
  return { fromMs, toMs, bucketSeconds, bucketCount };
}

export function isVolumeMetric(metric: FlowMetric): boolean {
  return volumeMetrics.includes(metric);
}

export function resolveVantage(query: FlowQuery): "src" | "dst" | "all" {
  return query.vantage ?? (isVolumeMetric(query.metric) ? "src" : "all");
}

export type FlowSource = "raw" | "rollup_1m" | "rollup_5m";

/**
 * The coarsest rollup tier whose answer is exactly the raw one, or null: volume sums, over rollup
 * dimensions only, on a grid (range ends and bucket width) that is a whole number of the tier's slots.
 */
export function exactRollup(query: FlowQuery, grid: TimeGrid): "rollup_1m" | "rollup_5m" | null {
  if (!isVolumeMetric(query.metric)) return null;
  if (
    !query.group_by.every(isRollupDimension) ||
    !query.filters.every((f) => isRollupDimension(f.dimension))
  ) {
    return null;
  }
  const fits = (slotSeconds: number) =>
    grid.fromMs % (slotSeconds * 1000) === 0 &&
    grid.toMs % (slotSeconds * 1000) === 0 &&
    grid.bucketSeconds % slotSeconds === 0;
  return fits(300) ? "rollup_5m" : fits(60) ? "rollup_1m" : null;
}

export interface PlannedQuery {
  sql: string;
  params: unknown[];
  source: FlowSource;
  grid: TimeGrid;
  vantage: "src" | "dst" | "all";
}

class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** The dimension as text, as it appears in a series key (addresses without a mask). */
function dimensionText(d: FlowDimension): string {
  if (inetDimensions.has(d)) return `host(${d})`;
  if (integerDimensions.has(d)) return `${d}::text`;
  return d;
}

const ipSchema = z.union([z.ipv4(), z.ipv6()]);
const cidrSchema = z.union([z.cidrv4(), z.cidrv6()]);

function filterSql(filter: FlowFilter, index: number, params: Params): string {
  const d = filter.dimension;
  const where = `filters[${index}] (${d} ${filter.op} ${JSON.stringify(filter.value)})`;
  switch (filter.op) {
    case "eq":
    case "neq": {
      let value: string;
      if (integerDimensions.has(d)) {
        if (!/^\d{1,10}$/.test(filter.value))
          throw new InvalidFlowQueryError(`${where}: value must be an integer`);
        value = `${params.add(Number(filter.value))}::bigint`;
      } else if (inetDimensions.has(d)) {
        if (!ipSchema.safeParse(filter.value).success) {
          throw new InvalidFlowQueryError(`${where}: value must be an IPv4 or IPv6 address`);
        }
        value = `${params.add(filter.value)}::inet`;
      } else {
        value = params.add(filter.value);
      }
      // neq keeps records where the dimension is unknown: "not X" includes "nobody knows".
      return filter.op === "eq" ? `${d} = ${value}` : `${d} IS DISTINCT FROM ${value}`;
    }
    case "prefix": {
      const pattern = `${filter.value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      return `${dimensionText(d)} LIKE ${params.add(pattern)}`;
    }
    case "cidr": {
      if (!inetDimensions.has(d))
        throw new InvalidFlowQueryError(`${where}: cidr applies only to src_addr or dst_addr`);
      if (!cidrSchema.safeParse(filter.value).success) {
        throw new InvalidFlowQueryError(`${where}: value must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32`);
      }
      return `${d} <<= ${params.add(filter.value)}::inet`;
    }
  }
}

function aggregateSql(query: FlowQuery): string {
  if (isVolumeMetric(query.metric)) return "sum(v)";
  switch (query.aggregate) {
    case "avg":
      return "avg(v)";
    case "max":
      return "max(v)";
    case "p50":
      return "percentile_cont(0.5) WITHIN GROUP (ORDER BY v)";
    case "p95":
      return "percentile_cont(0.95) WITHIN GROUP (ORDER BY v)";
    case "p99":
      return "percentile_cont(0.99) WITHIN GROUP (ORDER BY v)";
  }
}

/**
 * One statement: the matching rows (f), the top N groups by the metric over the whole range (t), then per
 * top group and for "other" (rank null) the aggregate per bucket and over the whole range (grouping sets).
 * Latency percentiles are over records (each record one sample, not weighted by packets).
 */
export function planFlowQuery(query: FlowQuery, scope: FlowQueryScope): PlannedQuery {
  const grid = resolveTimeGrid(query, scope.now ?? new Date());
  const vantage = resolveVantage(query);
  const wantRollup = scope.source ?? "auto";
  const exact = exactRollup(query, grid);
  if ((wantRollup === "rollup" || wantRollup === "rollup_1m") && !exact) {
    throw new InvalidFlowQueryError("this query cannot be answered exactly from the rollups");
  }
  const source: FlowSource =
    wantRollup === "raw" || !exact ? "raw" : wantRollup === "rollup_1m" ? "rollup_1m" : exact;
  const params = new Params();
  const timeColumn = source === "raw" ? "ts_start" : "minute";
  // Raw records are read through the view that joins both endpoints back (only when a column of one is
  // used: the joins are on the endpoints' primary key, so the planner drops an unused one). Rollup sums carry
  // a key; its dimension values are joined from rollup_dims (few rows, filtered first).
  const table =
    source === "raw"
      ? `${FLOW_SCHEMA}.records_wide`
      : `${FLOW_SCHEMA}.${source} JOIN ${FLOW_SCHEMA}.rollup_dims USING (dims_key)`;
  const from = params.add(new Date(grid.fromMs).toISOString());
  const to = params.add(new Date(grid.toMs).toISOString());
  const where = [`${timeColumn} >= ${from}::timestamptz`, `${timeColumn} < ${to}::timestamptz`];
  if (scope.planIds) where.push(`plan_id = ANY(${params.add(scope.planIds)}::uuid[])`);
  if (vantage !== "all") where.push(`vantage = ${params.add(vantage)}`);
  query.filters.forEach((f, i) => {
    where.push(filterSql(f, i, params));
  });

  let value: string;
  switch (query.metric) {
    case "bits_per_s":
      value = source === "raw" ? "bytes * sample_rate * 8" : "bytes * 8";
      break;
    case "packets_per_s":
      value = source === "raw" ? "packets * sample_rate" : "packets";
      break;
    case "retransmits_per_s":
      value = "retransmits";
      break;
    case "app_latency_ms":
      value = "app_latency_ms";
      break;
    case "rtt_ms":
      value = "rtt_us / 1000.0";
      break;
  }
  if (!isVolumeMetric(query.metric)) where.push(`${value} IS NOT NULL`);
  const bytes = source === "raw" ? "bytes * sample_rate" : "bytes";
  const packets = source === "raw" ? "packets * sample_rate" : "packets";
  const records = source === "raw" ? "1" : "records";
  // date_part is float8 arithmetic; extract() would be numeric, several times slower per row.
  const bucket = `floor(date_part('epoch', ${timeColumn} - ${from}::timestamptz) / ${params.add(grid.bucketSeconds)}::float8)::int`;
  const agg = aggregateSql(query);
  const topN = params.add(query.top_n);
  // Volume sums decompose: the rows are first summed per group and bucket (on the bare columns, cheap), and
  // only those sums are ranked and folded into "other". Percentiles do not decompose, so the latency metrics
  // carry every matching record. Rows are matched to their group by `k`, a cheap null-safe text key
  // (length-prefixed values, "-" for null: two different value lists never give the same key); the JSON key
  // the result carries (and that breaks ties in the ranking) is built once per group, in t. Built per row,
  // json_build_array was most of the time of an hour of raw records grouped by address (~1M group-buckets).
  const dims = query.group_by.map((d, i) => `${dimensionText(d)} AS d${i}`);
  const dimRefs = query.group_by.map((_, i) => `d${i}`);
  // No group-by: one group, keyed by the empty string.
  const key =
    dimRefs.map((d) => `coalesce(length(${d})::text || ':' || ${d}, '-')`).join(" || ") || "''::text";
  const f = isVolumeMetric(query.metric)
    ? `SELECT ${[`${key} AS k`, ...dimRefs].join(", ")}, bi, v, b, p, r FROM (
    SELECT ${[...dims, `${bucket} AS bi`].join(", ")}, sum((${value})::float8) AS v,
           sum((${bytes})::float8) AS b, sum((${packets})::float8) AS p, sum((${records})::float8) AS r
      FROM ${table} WHERE ${where.join(" AND ")}
     GROUP BY ${[...dimRefs, "bi"].join(", ")}) s`
    : `SELECT ${[`${key} AS k`, ...dimRefs].join(", ")}, bi, v, b, p, r FROM (
    SELECT ${[...dims, `${bucket} AS bi`].join(", ")}, (${value})::float8 AS v, (${bytes})::float8 AS b,
           (${packets})::float8 AS p, 1::float8 AS r
      FROM ${table} WHERE ${where.join(" AND ")}) s`;
  // Every row of a group has the same values, so min() just picks them up (null when they are null).
  const keyJson = `json_build_array(${dimRefs.map((d) => `min(${d})`).join(", ")})::text`;
  const sql = `
WITH f AS MATERIALIZED (
  ${f}
),
t AS (
  SELECT k, ${keyJson} AS kj, row_number() OVER (ORDER BY ${agg} DESC NULLS LAST, ${keyJson} COLLATE "C") AS rank
    FROM f GROUP BY k ORDER BY ${agg} DESC NULLS LAST, ${keyJson} COLLATE "C" LIMIT ${topN}
)
SELECT t.rank, min(t.kj) AS k, f.bi, GROUPING(f.bi) AS whole, (${agg})::float8 AS value,
       sum(f.b)::float8 AS bytes, sum(f.p)::float8 AS packets, sum(f.r)::float8 AS records
  FROM f LEFT JOIN t ON t.k = f.k
 GROUP BY GROUPING SETS ((t.rank, f.bi), (t.rank))`;
  return { sql, params: params.values, source, grid, vantage };
}
