import type { FlowQueryResult, FlowSeries } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import { latencyRows } from "./latency-rows";

function result(
  aggregate: FlowQueryResult["aggregate"],
  series: Array<Partial<FlowSeries>>,
): FlowQueryResult {
  return {
    metric: "app_latency_ms",
    aggregate,
    unit: "ms",
    vantage: "all",
    group_by: ["dst_process_name"],
    from: "2026-11-25T10:00:00Z",
    to: "2026-11-25T11:00:00Z",
    bucket_seconds: 60,
    buckets: [],
    series: series.map((s) => ({
      key: [],
      other: false,
      points: [],
      summary: null,
      bytes: 0,
      packets: 0,
      records: 1,
      ...s,
    })),
  };
}

describe("latencyRows", () => {
  it("joins each percentile and the RTT of a group by its key, in the p95 ranking's order", () => {
    const rows = latencyRows(["dst_process_name"], {
      p50: result("p50", [
        { key: ["nginx"], summary: 2 },
        { key: ["postgres"], summary: 1 },
      ]),
      p95: result("p95", [
        { key: ["postgres"], summary: 40, records: 7 },
        { key: ["nginx"], summary: 9, records: 3 },
        { key: [], other: true, summary: 5, records: 2 },
      ]),
      p99: result("p99", [{ key: ["postgres"], summary: 80 }]),
      rtt: result("p50", [{ key: ["nginx"], summary: 0.3 }]),
    });
    expect(rows).toEqual([
      {
        id: '["postgres"]',
        key: ["postgres"],
        label: "postgres",
        other: false,
        p50: 1,
        p95: 40,
        p99: 80,
        rtt: null,
        records: 7,
      },
      {
        id: '["nginx"]',
        key: ["nginx"],
        label: "nginx",
        other: false,
        p50: 2,
        p95: 9,
        p99: null,
        rtt: 0.3,
        records: 3,
      },
      {
        id: "other",
        key: [],
        label: "Other",
        other: true,
        p50: null,
        p95: 5,
        p99: null,
        rtt: null,
        records: 2,
      },
    ]);
  });

  it("has no rows before any answer, and none for a group without latency or RTT", () => {
    const none = { p50: undefined, p95: undefined, p99: undefined, rtt: undefined };
    expect(latencyRows(["dst_process_name"], none)).toEqual([]);
    const unmeasured = result("p95", [{ key: ["unbound"], records: 4, summary: null }]);
    expect(latencyRows(["dst_process_name"], { ...none, p95: unmeasured })).toEqual([]);
  });

  it("adds the groups only the RTT query returned after the latency ranking", () => {
    const rows = latencyRows(["dst_process_name"], {
      p50: undefined,
      p95: result("p95", [{ key: ["nginx"], summary: 9 }]),
      p99: undefined,
      rtt: result("p50", [
        { key: ["sshd"], summary: 0.5, records: 6 },
        { key: ["nginx"], summary: 0.3 },
      ]),
    });
    expect(rows.map((row) => [row.label, row.p95, row.rtt, row.records])).toEqual([
      ["nginx", 9, 0.3, 1],
      ["sshd", null, 0.5, 6],
    ]);
  });
});
