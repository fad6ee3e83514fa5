"use client";

import { type FormEvent, useId, useState } from "react";
import { InlineError } from "@/features/shell/InlineError";

export interface PlanFields {
  name: string;
  description: string;
  maxDevices: number;
  maxFlowsPerSecond: number;
  retentionDays: number;
}

export const emptyPlan: PlanFields = {
  name: "",
  description: "",
  maxDevices: 10,
  maxFlowsPerSecond: 10_000,
  retentionDays: 7,
};

interface PlanFormProps {
  title: string;
  initial: PlanFields;
  submitLabel: string;
  pending: boolean;
  error: unknown;
  onSubmit: (fields: PlanFields) => void;
  onCancel: () => void;
}

// Numbers are kept as typed text until submit so that clearing a field to retype it does not turn it
// into 0; the API validates the values.
export function PlanForm({ title, initial, submitLabel, pending, error, onSubmit, onCancel }: PlanFormProps) {
  const titleId = useId();
  const [name, setName] = useState(initial.name);
  const [description, setDescription] = useState(initial.description);
  const [maxDevices, setMaxDevices] = useState(String(initial.maxDevices));
  const [maxFlowsPerSecond, setMaxFlowsPerSecond] = useState(String(initial.maxFlowsPerSecond));
  const [retentionDays, setRetentionDays] = useState(String(initial.retentionDays));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit({
      name: name.trim(),
      description: description.trim(),
      maxDevices: Number(maxDevices),
      maxFlowsPerSecond: Number(maxFlowsPerSecond),
      retentionDays: Number(retentionDays),
    });
  };

  return (
    <form className="card form" onSubmit={submit} aria-labelledby={titleId}>
      <h2 id={titleId}>{title}</h2>
      <div className="form-grid">
        <label>
          Plan name
          <input required value={name} onChange={(event) => setName(event.target.value)} />
        </label>
        <label>
          Description
          <input value={description} onChange={(event) => setDescription(event.target.value)} />
        </label>
        <label>
          Max devices
          <input
            type="number"
            min={1}
            step={1}
            required
            value={maxDevices}
            onChange={(event) => setMaxDevices(event.target.value)}
          />
        </label>
        <label>
          Max flows per second
          <input
            type="number"
            min={1}
            step={1}
            required
            value={maxFlowsPerSecond}
            onChange={(event) => setMaxFlowsPerSecond(event.target.value)}
          />
        </label>
        <label>
          Retention (days)
          <input
            type="number"
            min={1}
            step={1}
            required
            value={retentionDays}
            onChange={(event) => setRetentionDays(event.target.value)}
          />
        </label>
      </div>
      <InlineError error={error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={pending}>
          {pending ? "Saving…" : submitLabel}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
