import type { FlowQueryResult, FlowSeries } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import { addFilters, chartData, filtersForRow, seriesLabel, seriesTotals, sortSeries } from "./series";

function series(key: Array<string | null>, values: Partial<FlowSeries> = {}): FlowSeries {
  return { key, other: false, points: [], summary: null, bytes: 0, packets: 0, records: 0, ...values };
}

describe("row → filters", () => {
  it("implies one equality per known dimension of the row's key", () => {
    const row = series(["curl", null, "443"]);
    expect(filtersForRow(["src_process_name", "dst_process_name", "dst_port"], row)).toEqual([
      { dimension: "src_process_name", op: "eq", value: "curl" },
      { dimension: "dst_port", op: "eq", value: "443" },
    ]);
  });

  it("implies nothing for the other row", () => {
    expect(filtersForRow(["dst_port"], series([], { other: true }))).toEqual([]);
  });

  it("replaces an equality on the same dimension and never adds a filter twice", () => {
    const existing = [
      { dimension: "dst_port" as const, op: "eq" as const, value: "80" },
      { dimension: "src_addr" as const, op: "cidr" as const, value: "10.0.0.0/8" },
    ];
    const added = addFilters(existing, [
      { dimension: "dst_port", op: "eq", value: "443" },
      { dimension: "src_addr", op: "cidr", value: "10.0.0.0/8" },
    ]);
    expect(added).toEqual([
      { dimension: "src_addr", op: "cidr", value: "10.0.0.0/8" },
      { dimension: "dst_port", op: "eq", value: "443" },
    ]);
  });
});

describe("series presentation", () => {
  it("labels groups by their values, protocols by name, and the rest as Other or Total", () => {
    expect(seriesLabel(["protocol", "dst_port"], series(["6", "443"]))).toBe("TCP (6) · 443");
    expect(seriesLabel(["src_process_name"], series([null]))).toBe("(unknown)");
    expect(seriesLabel(["src_process_name"], series([], { other: true }))).toBe("Other");
    expect(seriesLabel([], series([]))).toBe("Total");
  });

  it("sorts by a column either way and keeps Other last", () => {
    const rows = [
      series(["a"], { bytes: 5 }),
      series([], { other: true, bytes: 100 }),
      series(["b"], { bytes: 50 }),
      series(["c"], { bytes: 10 }),
    ];
    const keys = (sorted: FlowSeries[]) => sorted.map((s) => (s.other ? "other" : s.key[0]));
    expect(keys(sortSeries(["dst_port"], rows, { column: "bytes", descending: true }))).toEqual([
      "b",
      "c",
      "a",
      "other",
    ]);
    expect(keys(sortSeries(["dst_port"], rows, { column: "bytes", descending: false }))).toEqual([
      "a",
      "c",
      "b",
      "other",
    ]);
    expect(keys(sortSeries(["dst_port"], rows, { column: "key", descending: true }))).toEqual([
      "c",
      "b",
      "a",
      "other",
    ]);
  });

  it("puts groups without a summary after those with one", () => {
    const rows = [series(["a"], { summary: null }), series(["b"], { summary: 3 })];
    const sorted = sortSeries(["dst_port"], rows, { column: "summary", descending: false });
    expect(sorted.map((s) => s.key[0])).toEqual(["b", "a"]);
  });

  it("makes one chart row per bucket with a column per series (no volume is zero) and sums the totals", () => {
    const result: FlowQueryResult = {
      metric: "bits_per_s",
      aggregate: "avg",
      unit: "bit/s",
      vantage: "src",
      group_by: ["dst_port"],
      from: "2026-11-25T10:00:00Z",
      to: "2026-11-25T10:00:20Z",
      bucket_seconds: 10,
      buckets: ["2026-11-25T10:00:00Z", "2026-11-25T10:00:10Z"],
      series: [
        series(["443"], { points: [8, null], bytes: 10, packets: 1, records: 1 }),
        series([], { other: true, points: [1, 2], bytes: 5, packets: 2, records: 3 }),
      ],
    };
    const data = chartData(result);
    expect(data.lines).toEqual([
      { id: "s0", label: "443", other: false },
      { id: "s1", label: "Other", other: true },
    ]);
    expect(data.rows).toEqual([
      { t: Date.parse("2026-11-25T10:00:00Z"), s0: 8, s1: 1 },
      { t: Date.parse("2026-11-25T10:00:10Z"), s0: 0, s1: 2 },
    ]);
    // Latency has no value where nothing was measured: a gap, not a zero.
    const latency = chartData({ ...result, metric: "app_latency_ms" });
    expect(latency.rows[1]).toEqual({ t: Date.parse("2026-11-25T10:00:10Z"), s0: null, s1: 2 });
    expect(seriesTotals(result.series)).toEqual({ bytes: 15, packets: 3, records: 4 });
  });
});
