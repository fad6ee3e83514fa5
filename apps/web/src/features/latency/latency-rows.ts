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
 * rows are the groups of the p95 query, then those only the RTT query returned (TCP without a measured
 * request/response); a group another query did not return (outside its top N, or no samples) shows no
 * value there rather than a wrong one, and a group with no latency or RTT at all has no row.
 */
export function latencyRows(groupBy: readonly FlowDimension[], results: LatencyResults): LatencyRow[] {
  const summaries = (result: FlowQueryResult | undefined) =>
    new Map((result?.series ?? []).map((series) => [idOf(series.other, series.key), series]));
  const p50 = summaries(results.p50);
  const p95 = summaries(results.p95);
  const p99 = summaries(results.p99);
  const rtt = summaries(results.rtt);
  const ids = [...new Set([...p95.keys(), ...rtt.keys()])];
  return ids.flatMap((id) => {
    const series = p95.get(id) ?? rtt.get(id);
    if (!series) return [];
    const row: LatencyRow = {
      id,
      key: series.key,
      label: seriesLabel(groupBy, series),
      other: series.other,
      p50: p50.get(id)?.summary ?? null,
      p95: p95.get(id)?.summary ?? null,
      p99: p99.get(id)?.summary ?? null,
      rtt: rtt.get(id)?.summary ?? null,
      records: series.records,
    };
    const measured = [row.p50, row.p95, row.p99, row.rtt].some((value) => value !== null);
    return measured ? [row] : [];
  });
}
