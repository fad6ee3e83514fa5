"use client";

import type { FlowFilter, FlowQueryResult } from "@kernflow/protocol";
import { useState } from "react";
import styles from "./flows.module.css";
import {
  dimensionLabel,
  filtersForRow,
  formatDimensionValue,
  type SeriesColumn,
  type SeriesSort,
  seriesLabel,
  seriesTotals,
  sortSeries,
} from "./series";
import { formatCount, formatMetricValue, metricLabels } from "./units";

export function FlowTable({
  result,
  onFilter,
}: {
  result: FlowQueryResult;
  /** Called with the filters a clicked row implies. */
  onFilter: (filters: FlowFilter[]) => void;
}) {
  const [sort, setSort] = useState<SeriesSort>({ column: "summary", descending: true });
  const rows = sortSeries(result.group_by, result.series, sort);
  const totals = seriesTotals(result.series);
  const summaryLabel = `${metricLabels[result.metric]}${result.metric.endsWith("_ms") ? ` (${result.aggregate})` : " (avg)"}`;

  const header = (column: SeriesColumn, label: string, numeric = true) => {
    const active = sort.column === column;
    return (
      <th
        scope="col"
        className={numeric ? "num" : undefined}
        aria-sort={active ? (sort.descending ? "descending" : "ascending") : "none"}
      >
        <button
          type="button"
          className={`link-button ${styles.sortButton}`}
          onClick={() => setSort({ column, descending: active ? !sort.descending : column !== "key" })}
        >
          {label}
          {active ? (sort.descending ? " ↓" : " ↑") : ""}
        </button>
      </th>
    );
  };

  return (
    <table aria-label="Flow groups">
      <thead>
        <tr>
          {result.group_by.length === 0
            ? header("key", "Group", false)
            : result.group_by.map((dimension, index) =>
                index === 0 ? (
                  <th
                    key={dimension}
                    scope="col"
                    aria-sort={
                      sort.column === "key" ? (sort.descending ? "descending" : "ascending") : "none"
                    }
                  >
                    <button
                      type="button"
                      className={`link-button ${styles.sortButton}`}
                      onClick={() =>
                        setSort({
                          column: "key",
                          descending: sort.column === "key" ? !sort.descending : false,
                        })
                      }
                    >
                      {dimensionLabel(dimension)}
                      {sort.column === "key" ? (sort.descending ? " ↓" : " ↑") : ""}
                    </button>
                  </th>
                ) : (
                  <th key={dimension} scope="col">
                    {dimensionLabel(dimension)}
                  </th>
                ),
              )}
          {header("summary", summaryLabel)}
          {header("bytes", "Bytes")}
          {header("packets", "Packets")}
          {header("records", "Records")}
        </tr>
      </thead>
      <tbody>
        {rows.map((series) => {
          const label = seriesLabel(result.group_by, series);
          const implied = filtersForRow(result.group_by, series);
          // One cell per dimension; "other" and an ungrouped total have one label spanning them all.
          const keyCells =
            result.group_by.length === 0 || series.other
              ? [{ column: "label", text: label }]
              : result.group_by.map((dimension, index) => ({
                  column: dimension,
                  text: formatDimensionValue(dimension, series.key[index] ?? null),
                }));
          return (
            <tr key={series.other ? "other" : JSON.stringify(series.key)}>
              {keyCells.map(({ column, text }, index) => {
                const span =
                  keyCells.length === 1 && result.group_by.length > 1 ? result.group_by.length : undefined;
                return (
                  <th key={column} scope="row" colSpan={span}>
                    {index === 0 && implied.length > 0 ? (
                      <button
                        type="button"
                        className="link-button"
                        title="Add the filters this row implies"
                        aria-label={`Filter on ${label}`}
                        onClick={() => onFilter(implied)}
                      >
                        {text}
                      </button>
                    ) : (
                      text
                    )}
                  </th>
                );
              })}
              <td className="num">{formatMetricValue(result.metric, series.summary)}</td>
              <td className="num">{formatCount(series.bytes)}</td>
              <td className="num">{formatCount(series.packets)}</td>
              <td className="num">{formatCount(series.records)}</td>
            </tr>
          );
        })}
      </tbody>
      <tfoot>
        <tr aria-label="Totals">
          <th scope="row" colSpan={Math.max(1, result.group_by.length)}>
            Total
          </th>
          <td />
          <td className="num" data-testid="total-bytes">
            {formatCount(totals.bytes)}
          </td>
          <td className="num" data-testid="total-packets">
            {formatCount(totals.packets)}
          </td>
          <td className="num" data-testid="total-records">
            {formatCount(totals.records)}
          </td>
        </tr>
      </tfoot>
    </table>
  );
}
