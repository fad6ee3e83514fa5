"use client";

import type { FlowQueryResult } from "@kernflow/protocol";
import { useMemo } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { chartData } from "./series";
import { formatMetricValue } from "./units";

// Distinct hues for the top series; "other" is always grey so it never reads as one of them.
const PALETTE = [
  "#1f6feb",
  "#d9480f",
  "#2b8a3e",
  "#ae3ec9",
  "#e8590c",
  "#0c8599",
  "#c2255c",
  "#5c940d",
  "#364fc7",
  "#a61e4d",
];
const OTHER_COLOR = "#9aa4b2";

function tickTime(at: number, spanSeconds: number): string {
  const iso = new Date(at).toISOString();
  // Within a day the hour says enough; longer ranges need the date too.
  return spanSeconds <= 86_400 ? iso.slice(11, 16) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

/** The query's series over time, one line each. Animations are off so live refreshes do not flicker. */
export function FlowChart({
  result,
  height = 320,
  label = "Flow chart",
}: {
  result: FlowQueryResult;
  height?: number;
  label?: string;
}) {
  const data = useMemo(() => chartData(result), [result]);
  const span = (Date.parse(result.to) - Date.parse(result.from)) / 1000;
  const format = (value: number) => formatMetricValue(result.metric, value);
  return (
    <figure className="card" aria-label={label} style={{ margin: "0 0 1.25rem" }}>
      <ResponsiveContainer width="100%" height={height}>
        <LineChart data={data.rows} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid stroke="#eef0f3" />
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={["dataMin", "dataMax"]}
            tickFormatter={(at: number) => tickTime(at, span)}
          />
          <YAxis width={90} tickFormatter={format} />
          <Tooltip
            labelFormatter={(at) =>
              `${new Date(Number(at)).toISOString().slice(0, 19).replace("T", " ")} UTC`
            }
            formatter={(value) => (typeof value === "number" ? format(value) : "—")}
          />
          {data.lines.length > 1 ? <Legend /> : null}
          {data.lines.map((line, index) => (
            <Line
              key={line.id}
              dataKey={line.id}
              name={line.label}
              type="monotone"
              dot={false}
              strokeWidth={line.other ? 1.5 : 2}
              stroke={line.other ? OTHER_COLOR : PALETTE[index % PALETTE.length]}
              strokeDasharray={line.other ? "4 3" : undefined}
              isAnimationActive={false}
              connectNulls={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
