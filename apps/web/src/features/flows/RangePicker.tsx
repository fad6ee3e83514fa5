"use client";

import type { FlowTimeRange } from "@kernflow/protocol";
import { useState } from "react";
import { rangePresets } from "./explorer-state";
import styles from "./flows.module.css";

// <input type="datetime-local"> has no zone; the console shows UTC everywhere, so its value is read as UTC.
function toInput(iso: string): string {
  return new Date(iso).toISOString().slice(0, 16);
}
function fromInput(value: string): string | null {
  const at = Date.parse(`${value}:00Z`);
  return Number.isNaN(at) ? null : new Date(at).toISOString();
}

export function RangePicker({
  range,
  onChange,
}: {
  range: FlowTimeRange;
  onChange: (range: FlowTimeRange) => void;
}) {
  const custom = !("last_seconds" in range);
  const [problem, setProblem] = useState<string | null>(null);
  const selected = "last_seconds" in range ? String(range.last_seconds) : "custom";
  const isPreset = rangePresets.some((preset) => String(preset.seconds) === selected);

  const setCustom = (from: string | null, to: string | null) => {
    if (!from || !to) return setProblem("enter both the start and the end (UTC)");
    if (Date.parse(to) <= Date.parse(from)) return setProblem("the end must be after the start");
    setProblem(null);
    onChange({ from, to });
  };

  return (
    <div className={styles.range}>
      <label>
        Time range
        <select
          aria-label="Time range"
          value={selected}
          onChange={(event) => {
            if (event.target.value === "custom") {
              const to = new Date();
              const from = new Date(
                to.getTime() - ("last_seconds" in range ? range.last_seconds : 3600) * 1000,
              );
              onChange({ from: from.toISOString(), to: to.toISOString() });
            } else onChange({ last_seconds: Number(event.target.value) });
          }}
        >
          {rangePresets.map((preset) => (
            <option key={preset.seconds} value={preset.seconds}>
              {preset.label}
            </option>
          ))}
          {!custom && !isPreset ? <option value={selected}>Last {selected} s</option> : null}
          <option value="custom">Custom…</option>
        </select>
      </label>
      {"from" in range ? (
        <>
          <label>
            From (UTC)
            <input
              aria-label="From (UTC)"
              type="datetime-local"
              defaultValue={toInput(range.from)}
              key={`from-${range.from}`}
              onBlur={(event) => setCustom(fromInput(event.target.value), range.to)}
            />
          </label>
          <label>
            To (UTC)
            <input
              aria-label="To (UTC)"
              type="datetime-local"
              defaultValue={toInput(range.to)}
              key={`to-${range.to}`}
              onBlur={(event) => setCustom(range.from, fromInput(event.target.value))}
            />
          </label>
        </>
      ) : null}
      {problem ? (
        <p className="error" role="alert">
          {problem}
        </p>
      ) : null}
    </div>
  );
}
