import { flowQuerySchema } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import { exactRollup, InvalidFlowQueryError, planFlowQuery, resolveTimeGrid } from "./query-plan";

const q = (input: Record<string, unknown>) => flowQuerySchema.parse({ metric: "bits_per_s", ...input });

describe("flow query time grid", () => {
  it("ends a relative range at the end of the bucket holding now, a whole number of buckets long", () => {
    const now = new Date("2026-11-26T10:07:30Z");
    const grid = resolveTimeGrid(q({ range: { last_seconds: 3600 } }), now);
    expect(grid.bucketSeconds).toBe(60);
    expect(new Date(grid.toMs).toISOString()).toBe("2026-11-26T10:08:00.000Z");
    expect(new Date(grid.fromMs).toISOString()).toBe("2026-11-26T09:08:00.000Z");
    expect(grid.bucketCount).toBe(60);
  });

  it("picks about 60 buckets of a round width, never under 10 s", () => {
    const day = { from: "2026-11-25T00:00:00Z", to: "2026-11-26T00:00:00Z" };
    expect(resolveTimeGrid(q({ range: day }), new Date()).bucketSeconds).toBe(1800);
    expect(resolveTimeGrid(q({ range: { last_seconds: 60 } }), new Date()).bucketSeconds).toBe(10);
  });

  it("refuses a range holding more than 2000 buckets, naming the fix", () => {
    expect(() =>
      resolveTimeGrid(q({ range: { last_seconds: 31 * 86_400 }, bucket_seconds: 10 }), new Date()),
    ).toThrow(InvalidFlowQueryError);
  });

  it("uses a rollup only when its answer equals raw: volume, rollup dimensions, aligned grid", () => {
    const day = { from: "2026-11-25T00:00:00Z", to: "2026-11-26T00:00:00Z" };
    const grid = (input: Record<string, unknown>) => resolveTimeGrid(q(input), new Date());
    expect(exactRollup(q({ range: day }), grid({ range: day }))).toBe("rollup_5m");
    const minute = { range: day, bucket_seconds: 60 };
    expect(exactRollup(q(minute), grid(minute))).toBe("rollup_1m");
    const odd = { range: { from: "2026-11-25T00:00:30Z", to: "2026-11-25T01:00:30Z" } };
    expect(exactRollup(q(odd), grid(odd))).toBeNull();
    expect(exactRollup(q({ range: day, group_by: ["src_addr"] }), grid({ range: day }))).toBeNull();
    expect(exactRollup(q({ range: day, metric: "rtt_ms" }), grid({ range: day }))).toBeNull();
    expect(() => planFlowQuery(q(odd), { source: "rollup" })).toThrow(/cannot be answered exactly/);
  });

  it("rejects filter values that are not of the dimension's type before any SQL", () => {
    const range = { last_seconds: 600 };
    expect(() =>
      planFlowQuery(q({ range, filters: [{ dimension: "dst_port", op: "eq", value: "80x" }] }), {}),
    ).toThrow(/value must be an integer/);
    expect(() =>
      planFlowQuery(q({ range, filters: [{ dimension: "src_addr", op: "cidr", value: "10.0.0.0/33" }] }), {}),
    ).toThrow(/CIDR/);
    expect(() =>
      planFlowQuery(q({ range, filters: [{ dimension: "dst_addr", op: "eq", value: "host.example" }] }), {}),
    ).toThrow(/IPv4 or IPv6/);
  });

  it("keys rows by a length-prefixed null-safe text and builds the JSON key only per group (in t)", () => {
    const range = { last_seconds: 3600 };
    const two = planFlowQuery(q({ range, group_by: ["src_addr", "dst_port"] }), {});
    expect(two.sql).toContain(
      "coalesce(length(d0)::text || ':' || d0, '-') || coalesce(length(d1)::text || ':' || d1, '-') AS k",
    );
    const f = two.sql.slice(0, two.sql.indexOf("\nt AS ("));
    expect(f).not.toContain("json_build_array");
    expect(two.sql).toContain("json_build_array(min(d0), min(d1))::text AS kj");
    // No group-by: one group with the empty key, and no dangling commas in either shape of f.
    for (const metric of ["bits_per_s", "rtt_ms"]) {
      const none = planFlowQuery(q({ range, metric, group_by: [] }), {});
      expect(none.sql).toContain("SELECT ''::text AS k, bi,");
      expect(none.sql).not.toMatch(/,\s*,|SELECT\s*,/);
      expect(none.sql).toContain("json_build_array()::text AS kj");
    }
  });
});
