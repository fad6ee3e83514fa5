"use client";

import { useState } from "react";
import { CountField, type EditFormProps, FormCard, TextField } from "@/features/shell/Form";

export interface PlanFields {
  name: string;
  description: string;
  maxDevices: number;
  maxFlowsPerSecond: number;
  retentionDays: number;
  /** null = the console; http(s)://HOST:PORT = an aggregator; nats://HOST:PORT/SUBJECT = NATS JetStream. */
  flowDestination: string | null;
}

export const emptyPlan: PlanFields = {
  name: "",
  description: "",
  maxDevices: 10,
  maxFlowsPerSecond: 10_000,
  retentionDays: 7,
  flowDestination: null,
};

export function PlanForm({ initial, onSubmit, ...card }: EditFormProps<PlanFields>) {
  const [name, setName] = useState(initial.name);
  const [description, setDescription] = useState(initial.description);
  const [maxDevices, setMaxDevices] = useState(String(initial.maxDevices));
  const [maxFlowsPerSecond, setMaxFlowsPerSecond] = useState(String(initial.maxFlowsPerSecond));
  const [retentionDays, setRetentionDays] = useState(String(initial.retentionDays));
  const [flowDestination, setFlowDestination] = useState(initial.flowDestination ?? "");

  const submit = () =>
    onSubmit({
      name: name.trim(),
      description: description.trim(),
      maxDevices: Number(maxDevices),
      maxFlowsPerSecond: Number(maxFlowsPerSecond),
      retentionDays: Number(retentionDays),
      // Empty sends the plan's agents back to the console.
      flowDestination: flowDestination.trim() === "" ? null : flowDestination.trim(),
    });

  return (
    <FormCard {...card} onSubmit={submit} pendingLabel="Saving…">
      <div className="form-grid">
        <TextField label="Plan name" required value={name} onChange={setName} />
        <TextField label="Description" value={description} onChange={setDescription} />
        <CountField label="Max devices" required value={maxDevices} onChange={setMaxDevices} />
        <CountField
          label="Max flows per second"
          required
          value={maxFlowsPerSecond}
          onChange={setMaxFlowsPerSecond}
        />
        <CountField label="Retention (days)" required value={retentionDays} onChange={setRetentionDays} />
        <TextField
          label="Flow destination"
          placeholder="empty = console; http://aggregator:7000 or nats://nats:4222/kernflow.flows"
          value={flowDestination}
          onChange={setFlowDestination}
        />
      </div>
    </FormCard>
  );
}
