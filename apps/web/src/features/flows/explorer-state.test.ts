import { flowQuerySchema } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import {
  defaultExplorerView,
  type ExplorerView,
  explorerSearchParams,
  parseExplorerView,
  withLive,
} from "./explorer-state";

function roundTrip(view: ExplorerView) {
  return parseExplorerView(new URLSearchParams(explorerSearchParams(view).toString()), defaultExplorerView);
}

describe("explorer URL state", () => {
  it("reads back every part of a query it wrote, including IPv6 CIDR filters", () => {
    const view: ExplorerView = {
      query: flowQuerySchema.parse({
        metric: "app_latency_ms",
        aggregate: "p95",
        group_by: ["dst_workload_name", "dst_port"],
        filters: [
          { dimension: "src_addr", op: "cidr", value: "fd00:0:0:1::/64" },
          { dimension: "device", op: "neq", value: "edge:1" },
        ],
        range: { from: "2026-11-25T10:00:00.000Z", to: "2026-11-25T11:30:00.000Z" },
        bucket_seconds: 300,
        top_n: 25,
        vantage: "dst",
      }),
      live: false,
    };
    expect(roundTrip(view)).toEqual({ view, problems: [] });
  });

  it("reads back a relative live view with the default vantage and no group", () => {
    const view: ExplorerView = {
      query: flowQuerySchema.parse({ metric: "packets_per_s", group_by: [], range: { last_seconds: 300 } }),
      live: true,
    };
    const params = explorerSearchParams(view);
    expect(params.get("aggregate")).toBeNull();
    expect(params.get("vantage")).toBeNull();
    expect(roundTrip(view)).toEqual({ view, problems: [] });
  });

  it("gives the defaults for an empty URL", () => {
    expect(parseExplorerView(new URLSearchParams(), defaultExplorerView)).toEqual({
      view: defaultExplorerView,
      problems: [],
    });
  });

  it("names each bad parameter and keeps the default for it while using the good ones", () => {
    const { view, problems } = parseExplorerView(
      new URLSearchParams("metric=bananas&top=500&group=dst_port,nope&filter=dst_port:eq:443&last=600"),
      defaultExplorerView,
    );
    expect(view.query.metric).toBe(defaultExplorerView.query.metric);
    expect(view.query.top_n).toBe(defaultExplorerView.query.top_n);
    expect(view.query.group_by).toEqual(defaultExplorerView.query.group_by);
    expect(view.query.filters).toEqual([{ dimension: "dst_port", op: "eq", value: "443" }]);
    expect(view.query.range).toEqual({ last_seconds: 600 });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^metric "bananas"/);
    expect(problems.join("\n")).toMatch(/top "500".*100/);
    expect(problems.join("\n")).toMatch(/group "dst_port,nope"/);
  });

  it("rejects a cidr filter on a dimension that is not an address and a range that ends before it starts", () => {
    const { view, problems } = parseExplorerView(
      new URLSearchParams(
        "filter=dst_port:cidr:10.0.0.0/8&filter=broken&from=2026-11-25T11:00:00Z&to=2026-11-25T10:00:00Z",
      ),
      defaultExplorerView,
    );
    expect(view.query.filters).toEqual([]);
    expect(view.query.range).toEqual(defaultExplorerView.query.range);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/cidr filter applies only to src_addr or dst_addr/);
    expect(problems[1]).toMatch(/^filter "broken"/);
    expect(problems[2]).toMatch(/end of the range must be after its start/);
  });

  it("turns an absolute range into a sliding one of the same length when live mode starts", () => {
    const view: ExplorerView = {
      query: flowQuerySchema.parse({
        metric: "bits_per_s",
        range: { from: "2026-11-25T10:00:00Z", to: "2026-11-25T10:15:00Z" },
      }),
      live: false,
    };
    const live = withLive(view, true);
    expect(live.live).toBe(true);
    expect(live.query.range).toEqual({ last_seconds: 900 });
    expect(withLive(live, false)).toEqual({ ...live, live: false });
  });
});
