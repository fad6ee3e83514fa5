import type { FlowDimension, FlowQueryResult } from "@kernflow/protocol";
import { seriesLabel } from "../flows/series";

/** One group of the latency table: its application-latency percentiles and TCP round-trip time. */
export interface LatencyRow {
  id: string;
  key: Array<string | null>;
  label: string;
  other: boolean;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  rtt: number | null;
  records: number;
}

export interface LatencyResults {
  p50: FlowQueryResult | undefined;
  p95: FlowQueryResult | undefined;
  p99: FlowQueryResult | undefined;
  rtt: FlowQueryResult | undefined;
}

const idOf = (other: boolean, key: ReadonlyArray<string | null>) => (other ? "other" : JSON.stringify(key));

/**
 * Joins the per-group summaries of separate queries (one per percentile, one for RTT) by group key. The
 * rows are the groups of the p95 query, the one the page ranks by; a group another query did not return
 * (it was outside that query's top N, or had no RTT samples) shows no value there rather than a wrong one.
 */
export function latencyRows(groupBy: readonly FlowDimension[], results: LatencyResults): LatencyRow[] {
  const ranking = results.p95;
  if (!ranking) return [];
  const summaries = (result: FlowQueryResult | undefined) =>
    new Map((result?.series ?? []).map((series) => [idOf(series.other, series.key), series.summary]));
  const p50 = summaries(results.p50);
  const p99 = summaries(results.p99);
  const rtt = summaries(results.rtt);
  return ranking.series
    .filter((series) => series.records > 0)
    .map((series) => {
      const id = idOf(series.other, series.key);
      return {
        id,
        key: series.key,
        label: seriesLabel(groupBy, series),
        other: series.other,
        p50: p50.get(id) ?? null,
        p95: series.summary,
        p99: p99.get(id) ?? null,
        rtt: rtt.get(id) ?? null,
        records: series.records,
      };
    });
}
