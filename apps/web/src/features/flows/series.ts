import {
  type FlowDimension,
  type FlowFilter,
  type FlowQueryResult,
  type FlowSeries,
  flowDimensionLabels,
  volumeMetrics,
} from "@kernflow/protocol";

const protocolNames: Record<string, string> = { "1": "ICMP", "6": "TCP", "17": "UDP", "58": "ICMPv6" };

/** A dimension value as people read it: protocols by name, unknown values said so. */
export function formatDimensionValue(dimension: FlowDimension, value: string | null): string {
  if (value === null) return "(unknown)";
  if (dimension === "protocol") {
    const name = protocolNames[value];
    return name ? `${name} (${value})` : value;
  }
  return value;
}

export function seriesLabel(groupBy: readonly FlowDimension[], series: FlowSeries): string {
  if (series.other) return "Other";
  if (groupBy.length === 0) return "Total";
  return groupBy
    .map((dimension, index) => formatDimensionValue(dimension, series.key[index] ?? null))
    .join(" · ");
}

export function dimensionLabel(dimension: FlowDimension): string {
  return flowDimensionLabels[dimension];
}

/**
 * The filters a table row implies: its group key, one `eq` per dimension. A dimension whose value is
 * unknown (null) has no value to compare with, so it adds no filter; the "other" row implies none.
 */
export function filtersForRow(groupBy: readonly FlowDimension[], series: FlowSeries): FlowFilter[] {
  if (series.other) return [];
  const filters: FlowFilter[] = [];
  groupBy.forEach((dimension, index) => {
    const value = series.key[index];
    if (value !== null && value !== undefined) filters.push({ dimension, op: "eq", value });
  });
  return filters;
}

/**
 * Adds filters to a query's list. An `eq` on a dimension replaces an earlier `eq` on the same one (two
 * different equalities would match nothing); an identical filter is not added twice.
 */
export function addFilters(existing: readonly FlowFilter[], added: readonly FlowFilter[]): FlowFilter[] {
  let result = [...existing];
  for (const filter of added) {
    if (filter.op === "eq") {
      result = result.filter((other) => !(other.op === "eq" && other.dimension === filter.dimension));
    }
    const duplicate = result.some(
      (other) =>
        other.dimension === filter.dimension && other.op === filter.op && other.value === filter.value,
    );
    if (!duplicate) result.push(filter);
  }
  return result;
}

export type SeriesColumn = "key" | "summary" | "bytes" | "packets" | "records";
export interface SeriesSort {
  column: SeriesColumn;
  descending: boolean;
}

/** Sorted rows for the table; "other" stays last whatever the order, as it is not one group. */
export function sortSeries(
  groupBy: readonly FlowDimension[],
  series: readonly FlowSeries[],
  sort: SeriesSort,
): FlowSeries[] {
  const direction = sort.descending ? -1 : 1;
  const compare = (a: FlowSeries, b: FlowSeries): number => {
    if (sort.column === "key")
      return seriesLabel(groupBy, a).localeCompare(seriesLabel(groupBy, b)) * direction;
    // Groups without a value (no latency measured) sort after those with one, in both directions.
    const left = a[sort.column];
    const right = b[sort.column];
    if (left === null && right === null) return 0;
    if (left === null) return 1;
    if (right === null) return -1;
    return (left - right) * direction;
  };
  const groups = series.filter((s) => !s.other).sort(compare);
  return [...groups, ...series.filter((s) => s.other)];
}

export interface ChartLine {
  /** Recharts reads a dataKey with dots as a path, so series get plain ids instead of their labels. */
  id: string;
  label: string;
  other: boolean;
}

export interface ChartData {
  lines: ChartLine[];
  rows: Array<Record<string, number | null>>;
}

/**
 * One row per bucket (`t` = its start in ms), one column per series, for a recharts time-series. For a
 * volume metric a bucket without records is a rate of zero, drawn as such (otherwise a burst inside one
 * bucket is an isolated point that a line chart does not draw at all); for latency and RTT it is a gap.
 */
export function chartData(result: FlowQueryResult): ChartData {
  const missing = volumeMetrics.includes(result.metric) ? 0 : null;
  const lines = result.series.map((series, index) => ({
    id: `s${index}`,
    label: seriesLabel(result.group_by, series),
    other: series.other,
  }));
  const rows = result.buckets.map((bucket, bucketIndex) => {
    const row: Record<string, number | null> = { t: Date.parse(bucket) };
    result.series.forEach((series, index) => {
      row[`s${index}`] = series.points[bucketIndex] ?? missing;
    });
    return row;
  });
  return { lines, rows };
}

export interface SeriesTotals {
  bytes: number;
  packets: number;
  records: number;
}

export function seriesTotals(series: readonly FlowSeries[]): SeriesTotals {
  return series.reduce(
    (sum, s) => ({
      bytes: sum.bytes + s.bytes,
      packets: sum.packets + s.packets,
      records: sum.records + s.records,
    }),
    { bytes: 0, packets: 0, records: 0 },
  );
}
