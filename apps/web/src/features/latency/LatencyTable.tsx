"use client";

import type { FlowDimension, FlowFilter } from "@kernflow/protocol";
import { useState } from "react";
import { dimensionLabel, filtersForRow } from "@/features/flows/series";
import { formatCount, formatMilliseconds } from "@/features/flows/units";
import type { LatencyRow } from "./latency-rows";

type Column = "label" | "p50" | "p95" | "p99" | "rtt" | "records";
const columns: Array<{ column: Column; label: string }> = [
  { column: "p50", label: "Latency p50" },
  { column: "p95", label: "Latency p95" },
  { column: "p99", label: "Latency p99" },
  { column: "rtt", label: "RTT p50" },
  { column: "records", label: "Records" },
];

const ms = (value: number | null) => (value === null ? "—" : formatMilliseconds(value));

export function LatencyTable({
  groupBy,
  rows,
  onFilter,
}: {
  groupBy: readonly FlowDimension[];
  rows: readonly LatencyRow[];
  onFilter: (filters: FlowFilter[]) => void;
}) {
  const [sort, setSort] = useState<{ column: Column; descending: boolean }>({
    column: "p95",
    descending: true,
  });
  const direction = sort.descending ? -1 : 1;
  // "other" stays last, and groups without a value sort after those with one, as in the flows table.
  const sorted = [...rows].sort((a, b) => {
    if (a.other !== b.other) return a.other ? 1 : -1;
    if (sort.column === "label") return a.label.localeCompare(b.label) * direction;
    const left = a[sort.column];
    const right = b[sort.column];
    if (left === null || right === null) return left === right ? 0 : left === null ? 1 : -1;
    return (left - right) * direction;
  });
  const heading = groupBy.length === 0 ? "Group" : groupBy.map(dimensionLabel).join(" · ");

  const header = (column: Column, label: string) => {
    const active = sort.column === column;
    return (
      <th
        key={column}
        scope="col"
        className={column === "label" ? undefined : "num"}
        aria-sort={active ? (sort.descending ? "descending" : "ascending") : "none"}
      >
        <button
          type="button"
          className="link-button"
          onClick={() => setSort({ column, descending: active ? !sort.descending : column !== "label" })}
        >
          {label}
          {active ? (sort.descending ? " ↓" : " ↑") : ""}
        </button>
      </th>
    );
  };

  return (
    <table aria-label="Latency by group">
      <thead>
        <tr>
          {header("label", heading)}
          {columns.map(({ column, label }) => header(column, label))}
        </tr>
      </thead>
      <tbody>
        {sorted.map((row) => {
          const implied = filtersForRow(groupBy, {
            key: row.key,
            other: row.other,
            points: [],
            summary: null,
            bytes: 0,
            packets: 0,
            records: row.records,
          });
          return (
            <tr key={row.id}>
              <th scope="row">
                {implied.length > 0 ? (
                  <button
                    type="button"
                    className="link-button"
                    title="Add the filters this row implies"
                    aria-label={`Filter on ${row.label}`}
                    onClick={() => onFilter(implied)}
                  >
                    {row.label}
                  </button>
                ) : (
                  row.label
                )}
              </th>
              <td className="num">{ms(row.p50)}</td>
              <td className="num">{ms(row.p95)}</td>
              <td className="num">{ms(row.p99)}</td>
              <td className="num">{ms(row.rtt)}</td>
              <td className="num">{formatCount(row.records)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
