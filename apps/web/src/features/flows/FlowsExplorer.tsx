"use client";

import { type FlowQueryResult, flowMetrics } from "@kernflow/protocol";
import Link from "next/link";
import { InlineError } from "@/features/shell/InlineError";
import { PageHeader } from "@/features/shell/PageHeader";
import { formatTime } from "@/features/shell/time";
import { defaultExplorerView, type ExplorerView } from "./explorer-state";
import { FlowChart } from "./FlowChart";
import { FlowQueryControls } from "./FlowQueryControls";
import { FlowTable } from "./FlowTable";
import styles from "./flows.module.css";
import { addFilters } from "./series";
import { useExplorerView } from "./useExplorerView";
import { useFlowQuery } from "./useFlowQuery";

export function FlowsExplorer() {
  const { view, problems, setView } = useExplorerView(defaultExplorerView);
  const result = useFlowQuery(view.query, view.live);
  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Flows"
        summary="Who talks to whom and how much: pick a metric, group by any dimension, filter, and share the URL."
      />
      <UrlProblems problems={problems} />
      <FlowQueryControls view={view} onChange={setView} metrics={flowMetrics} />
      <QueryStatus
        view={view}
        result={result.data}
        fetching={result.isFetching}
        placeholder={result.isPlaceholderData}
      />
      <InlineError error={result.error} />
      {result.isPending ? <p className="muted">Loading flows…</p> : null}
      {result.data ? (
        isEmpty(result.data) ? (
          <NoFlows />
        ) : (
          <div className={result.isPlaceholderData ? "dimmed" : undefined}>
            <FlowChart result={result.data} />
            <FlowTable
              result={result.data}
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

export function isEmpty(result: FlowQueryResult): boolean {
  return result.series.every((series) => series.records === 0);
}

export function NoFlows() {
  return (
    <div className="notice" role="status">
      No flows in this range: enroll an agent (<Link href="/enrollment-tokens">Enrollment tokens</Link>) or
      widen the range.
    </div>
  );
}

/** A link that could not be read in full says which parts were replaced, instead of silently changing it. */
export function UrlProblems({ problems }: { problems: readonly string[] }) {
  if (problems.length === 0) return null;
  return (
    <div className="error" role="alert">
      <p style={{ margin: 0 }}>Parts of this link could not be used; their defaults are shown instead:</p>
      <ul>
        {problems.map((problem) => (
          <li key={problem}>{problem}</li>
        ))}
      </ul>
    </div>
  );
}

export function QueryStatus({
  view,
  result,
  fetching,
  placeholder,
}: {
  view: ExplorerView;
  result: FlowQueryResult | undefined;
  fetching: boolean;
  placeholder: boolean;
}) {
  if (!result) return null;
  return (
    <p className={`muted ${styles.status}`} aria-live="polite">
      <span>
        {formatTime(result.from)} – {formatTime(result.to)}, buckets of {result.bucket_seconds} s, vantage{" "}
        {result.vantage}
      </span>
      {view.live ? <span className="badge">live</span> : null}
      {fetching && !placeholder ? <span>refreshing…</span> : null}
    </p>
  );
}
