"use client";

import {
  type FlowAggregate,
  type FlowDimension,
  type FlowMetric,
  flowAggregateSchema,
  flowDimensions,
  volumeMetrics,
} from "@kernflow/protocol";
import { bucketChoices, type ExplorerView, withLive } from "./explorer-state";
import { FilterEditor } from "./FilterEditor";
import styles from "./flows.module.css";
import { RangePicker } from "./RangePicker";
import { dimensionLabel } from "./series";
import { metricLabels } from "./units";

const VANTAGE_HELP =
  "Count each conversation once. Both ends of a conversation may run an agent, and each reports it: " +
  "keeping only the records seen by the source end (or only the destination end) counts it once. " +
  "The default keeps the source end for volume metrics and every record for latency and RTT.";

const MAX_GROUP_BY = 4;

function bucketLabel(seconds: number): string {
  return seconds < 60 ? `${seconds} s` : seconds < 3600 ? `${seconds / 60} min` : `${seconds / 3600} h`;
}

/**
 * Every part of a flow query as controls. Pages choose which metrics and dimensions they offer, so the
 * latency page reuses the same controls with its own short lists.
 */
export function FlowQueryControls({
  view,
  onChange,
  metrics,
  groupByChoices = flowDimensions,
}: {
  view: ExplorerView;
  onChange: (view: ExplorerView) => void;
  metrics: readonly FlowMetric[];
  groupByChoices?: readonly FlowDimension[];
}) {
  const { query } = view;
  const setQuery = (changes: Partial<ExplorerView["query"]>) =>
    onChange({ ...view, query: { ...query, ...changes } });
  const unusedDimensions = groupByChoices.filter((dimension) => !query.group_by.includes(dimension));

  return (
    <div className={`card ${styles.controls}`}>
      <div className={styles.controlRow}>
        <label>
          Metric
          <select
            aria-label="Metric"
            value={query.metric}
            onChange={(event) => setQuery({ metric: event.target.value as FlowMetric })}
          >
            {metrics.map((metric) => (
              <option key={metric} value={metric}>
                {metricLabels[metric]}
              </option>
            ))}
          </select>
        </label>
        {volumeMetrics.includes(query.metric) ? null : (
          <label>
            Aggregate
            <select
              aria-label="Aggregate"
              value={query.aggregate}
              onChange={(event) => setQuery({ aggregate: event.target.value as FlowAggregate })}
            >
              {flowAggregateSchema.options.map((aggregate) => (
                <option key={aggregate} value={aggregate}>
                  {aggregate}
                </option>
              ))}
            </select>
          </label>
        )}
        <RangePicker
          range={query.range}
          onChange={(range) => onChange(withLive({ ...view, query: { ...query, range } }, view.live))}
        />
        <label>
          Bucket
          <select
            aria-label="Bucket"
            value={query.bucket_seconds ?? "auto"}
            onChange={(event) =>
              setQuery({
                bucket_seconds: event.target.value === "auto" ? undefined : Number(event.target.value),
              })
            }
          >
            <option value="auto">Automatic</option>
            {[...new Set([...bucketChoices, ...(query.bucket_seconds ? [query.bucket_seconds] : [])])].map(
              (seconds) => (
                <option key={seconds} value={seconds}>
                  {bucketLabel(seconds)}
                </option>
              ),
            )}
          </select>
        </label>
        <label>
          Top N
          <input
            aria-label="Top N"
            type="number"
            min={1}
            max={100}
            value={query.top_n}
            className={styles.narrow}
            onChange={(event) => {
              const topN = Number(event.target.value);
              if (Number.isInteger(topN) && topN >= 1 && topN <= 100) setQuery({ top_n: topN });
            }}
          />
        </label>
        <label title={VANTAGE_HELP}>
          <span>
            Vantage{" "}
            <abbr className={styles.help} title={VANTAGE_HELP} aria-label="What vantage means">
              ?
            </abbr>
          </span>
          <select
            aria-label="Vantage"
            value={query.vantage ?? "default"}
            aria-describedby="vantage-help"
            onChange={(event) =>
              setQuery({
                vantage:
                  event.target.value === "default"
                    ? undefined
                    : (event.target.value as "src" | "dst" | "all"),
              })
            }
          >
            <option value="default">Default</option>
            <option value="src">Once: source end</option>
            <option value="dst">Once: destination end</option>
            <option value="all">Every record (both ends)</option>
          </select>
        </label>
        <span id="vantage-help" className="visually-hidden">
          {VANTAGE_HELP}
        </span>
        <label className={styles.live}>
          <input
            type="checkbox"
            checked={view.live}
            onChange={(event) => onChange(withLive(view, event.target.checked))}
          />
          Live
        </label>
      </div>

      <fieldset className={styles.groupBy}>
        <legend>Group by</legend>
        <ul className={styles.chips} aria-label="Group-by dimensions">
          {query.group_by.map((dimension) => (
            <li key={dimension} className={styles.chip}>
              <span>{dimensionLabel(dimension)}</span>
              <button
                type="button"
                className="link-button"
                aria-label={`Stop grouping by ${dimensionLabel(dimension)}`}
                onClick={() => setQuery({ group_by: query.group_by.filter((other) => other !== dimension) })}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
        {query.group_by.length < MAX_GROUP_BY ? (
          <select
            aria-label="Add a group-by dimension"
            value=""
            onChange={(event) => {
              if (event.target.value)
                setQuery({ group_by: [...query.group_by, event.target.value as FlowDimension] });
            }}
          >
            <option value="">Add dimension…</option>
            {unusedDimensions.map((dimension) => (
              <option key={dimension} value={dimension}>
                {dimensionLabel(dimension)}
              </option>
            ))}
          </select>
        ) : (
          <span className="muted">At most {MAX_GROUP_BY} dimensions.</span>
        )}
      </fieldset>

      <FilterEditor filters={query.filters} onChange={(filters) => setQuery({ filters })} />
    </div>
  );
}
