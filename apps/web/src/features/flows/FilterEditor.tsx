"use client";

import {
  addressDimensions,
  type FlowDimension,
  type FlowFilter,
  flowDimensions,
  flowFilterSchema,
} from "@kernflow/protocol";
import { type FormEvent, useState } from "react";
import styles from "./flows.module.css";
import { dimensionLabel } from "./series";

const opLabels: Record<FlowFilter["op"], string> = {
  eq: "equals",
  neq: "does not equal",
  prefix: "starts with",
  cidr: "in CIDR",
};

/** The filters of a query as removable chips, and a small form to add one (checked with the shared schema). */
export function FilterEditor({
  filters,
  onChange,
}: {
  filters: readonly FlowFilter[];
  onChange: (filters: FlowFilter[]) => void;
}) {
  const [dimension, setDimension] = useState<FlowDimension>("dst_port");
  const [op, setOp] = useState<FlowFilter["op"]>("eq");
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  // CIDR only applies to addresses; the choice is not offered elsewhere rather than rejected after.
  const ops = (Object.keys(opLabels) as FlowFilter["op"][]).filter(
    (candidate) => candidate !== "cidr" || addressDimensions.includes(dimension),
  );

  const add = (event: FormEvent) => {
    event.preventDefault();
    const parsed = flowFilterSchema.safeParse({ dimension, op, value: value.trim() });
    if (!parsed.success) {
      setProblem(parsed.error.issues.map((issue) => issue.message).join("; "));
      return;
    }
    if (parsed.data.value === "") {
      setProblem("enter a value to filter on");
      return;
    }
    setProblem(null);
    setValue("");
    onChange([...filters, parsed.data]);
  };

  return (
    <fieldset className={styles.filters}>
      <legend>Filters</legend>
      {filters.length === 0 ? <span className="muted">None: every flow in the range.</span> : null}
      <ul className={styles.chips} aria-label="Active filters">
        {filters.map((filter, index) => {
          const text = `${dimensionLabel(filter.dimension)} ${opLabels[filter.op]} ${filter.value}`;
          return (
            <li key={`${filter.dimension}-${filter.op}-${filter.value}`} className={styles.chip}>
              <span>{text}</span>
              <button
                type="button"
                className="link-button"
                aria-label={`Remove filter ${text}`}
                onClick={() => onChange(filters.filter((_, other) => other !== index))}
              >
                ×
              </button>
            </li>
          );
        })}
      </ul>
      <form className={styles.addFilter} onSubmit={add} aria-label="Add filter">
        <select
          aria-label="Filter dimension"
          value={dimension}
          onChange={(event) => {
            const next = event.target.value as FlowDimension;
            setDimension(next);
            if (op === "cidr" && !addressDimensions.includes(next)) setOp("eq");
          }}
        >
          {flowDimensions.map((candidate) => (
            <option key={candidate} value={candidate}>
              {dimensionLabel(candidate)}
            </option>
          ))}
        </select>
        <select
          aria-label="Filter operator"
          value={op}
          onChange={(event) => setOp(event.target.value as FlowFilter["op"])}
        >
          {ops.map((candidate) => (
            <option key={candidate} value={candidate}>
              {opLabels[candidate]}
            </option>
          ))}
        </select>
        <input
          aria-label="Filter value"
          value={value}
          placeholder={op === "cidr" ? "10.0.0.0/8" : "value"}
          onChange={(event) => setValue(event.target.value)}
        />
        <button type="submit">Add filter</button>
      </form>
      {problem ? (
        <p className="error" role="alert">
          {problem}
        </p>
      ) : null}
    </fieldset>
  );
}
