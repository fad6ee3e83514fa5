"use client";

import { type FlowDimension, type FlowMetric, type FlowQuery, flowQuerySchema } from "@kernflow/protocol";
import type { ExplorerView } from "@/features/flows/explorer-state";
import { FlowChart } from "@/features/flows/FlowChart";
import { FlowQueryControls } from "@/features/flows/FlowQueryControls";
import { isEmpty, NoFlows, QueryStatus, UrlProblems } from "@/features/flows/FlowsExplorer";
import { addFilters } from "@/features/flows/series";
import { useExplorerView } from "@/features/flows/useExplorerView";
import { useFlowQuery } from "@/features/flows/useFlowQuery";
import { InlineError } from "@/features/shell/InlineError";
import { PageHeader } from "@/features/shell/PageHeader";
import { LatencyTable } from "./LatencyTable";
import { latencyRows } from "./latency-rows";

const latencyMetrics: readonly FlowMetric[] = ["app_latency_ms", "rtt_ms"];

/** Who is slow: the serving process or workload (destination end) and the clients that waited on it. */
const latencyDimensions: readonly FlowDimension[] = [
  "dst_process_name",
  "src_process_name",
  "dst_workload_name",
  "src_workload_name",
  "dst_workload_namespace",
  "src_workload_namespace",
  "dst_container_name",
  "src_container_name",
  "device",
  "dst_port",
];

const latencyDefaults: ExplorerView = {
  query: flowQuerySchema.parse({
    metric: "app_latency_ms",
    aggregate: "p95",
    group_by: ["dst_process_name"],
    range: { last_seconds: 3600 },
  }),
  live: false,
};

// The table needs each percentile and the RTT for every group; the chart shows the one the user picked.
function tableQuery(query: FlowQuery, metric: FlowMetric, aggregate: FlowQuery["aggregate"]): FlowQuery {
  return { ...query, metric, aggregate };
}

export function LatencyPage() {
  const { view, problems, setView } = useExplorerView(latencyDefaults);
  const chart = useFlowQuery(view.query, view.live);
  // Same inputs as the chart's query when they coincide, so react-query asks the server once for both.
  const p50 = useFlowQuery(tableQuery(view.query, "app_latency_ms", "p50"), view.live);
  const p95 = useFlowQuery(tableQuery(view.query, "app_latency_ms", "p95"), view.live);
  const p99 = useFlowQuery(tableQuery(view.query, "app_latency_ms", "p99"), view.live);
  const rtt = useFlowQuery(tableQuery(view.query, "rtt_ms", "p50"), view.live);
  const rows = latencyRows(view.query.group_by, {
    p50: p50.data,
    p95: p95.data,
    p99: p99.data,
    rtt: rtt.data,
  });
  const error = chart.error ?? p50.error ?? p95.error ?? p99.error ?? rtt.error;

  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Latency"
        summary="Application latency percentiles and TCP round-trip time per process and per workload."
      />
      <UrlProblems problems={problems} />
      <FlowQueryControls
        view={view}
        onChange={setView}
        metrics={latencyMetrics}
        groupByChoices={latencyDimensions}
      />
      <QueryStatus
        view={view}
        result={chart.data}
        fetching={chart.isFetching}
        placeholder={chart.isPlaceholderData}
      />
      <InlineError error={error} />
      {chart.isPending ? <p className="muted">Loading latency…</p> : null}
      {chart.data ? (
        isEmpty(chart.data) ? (
          <NoFlows />
        ) : (
          <div className={chart.isPlaceholderData ? "dimmed" : undefined}>
            <FlowChart result={chart.data} label="Latency chart" />
            <LatencyTable
              groupBy={view.query.group_by}
              rows={rows}
              onFilter={(filters) =>
                setView({
                  ...view,
                  query: { ...view.query, filters: addFilters(view.query.filters, filters) },
                })
              }
            />
          </div>
        )
      ) : null}
    </section>
  );
}
