"use client";

import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";
import { InlineError } from "@/features/shell/InlineError";
import { useTRPC } from "@/trpc/client";

export interface EnrollmentTokenFields {
  name: string;
  planId: string;
  deviceName?: string;
  namePrefix?: string;
  expiresInHours: number;
  maxUses: number;
}

type Naming = "hostname" | "prefix" | "fixed";

interface Props {
  pending: boolean;
  error: unknown;
  onSubmit: (fields: EnrollmentTokenFields) => void;
  onCancel: () => void;
}

// Numbers stay typed text until submit (clearing a field must not make it 0); the API validates them.
export function EnrollmentTokenForm({ pending, error, onSubmit, onCancel }: Props) {
  const trpc = useTRPC();
  const titleId = useId();
  const plans = useQuery(trpc.plans.list.queryOptions());
  const [name, setName] = useState("");
  const [planId, setPlanId] = useState("");
  const [naming, setNaming] = useState<Naming>("hostname");
  const [deviceName, setDeviceName] = useState("");
  const [namePrefix, setNamePrefix] = useState("");
  const [expiresInHours, setExpiresInHours] = useState("24");
  const [maxUses, setMaxUses] = useState("1");
  const chosenPlan = planId || plans.data?.[0]?.id || "";

  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit({
      name: name.trim(),
      planId: chosenPlan,
      ...(naming === "fixed" ? { deviceName: deviceName.trim() } : {}),
      ...(naming === "prefix" ? { namePrefix: namePrefix.trim() } : {}),
      expiresInHours: Number(expiresInHours),
      maxUses: naming === "fixed" ? 1 : Number(maxUses),
    });
  };

  return (
    <form className="card form" onSubmit={submit} aria-labelledby={titleId}>
      <h2 id={titleId}>New enrollment token</h2>
      <InlineError error={plans.error} />
      {plans.data && plans.data.length === 0 ? (
        <p className="notice">Create a plan first: every device enrolls into a plan.</p>
      ) : null}
      <div className="form-grid">
        <label>
          Token name
          <input required value={name} placeholder="e.g. rack 12" onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Plan
          <select required value={chosenPlan} onChange={(e) => setPlanId(e.target.value)}>
            {(plans.data ?? []).map((plan) => (
              <option key={plan.id} value={plan.id}>
                {plan.name} ({plan.deviceCount} / {plan.maxDevices} devices)
              </option>
            ))}
          </select>
        </label>
        <label>
          Device names
          <select value={naming} onChange={(e) => setNaming(e.target.value as Naming)}>
            <option value="hostname">the host's name</option>
            <option value="prefix">a prefix + the host's name</option>
            <option value="fixed">one fixed name (one host)</option>
          </select>
        </label>
        {naming === "fixed" ? (
          <label>
            Device name
            <input required value={deviceName} onChange={(e) => setDeviceName(e.target.value)} />
          </label>
        ) : null}
        {naming === "prefix" ? (
          <label>
            Name prefix
            <input
              required
              value={namePrefix}
              placeholder="e.g. rack12-"
              onChange={(e) => setNamePrefix(e.target.value)}
            />
          </label>
        ) : null}
        <label>
          Expires in (hours)
          <input
            type="number"
            min={1}
            step={1}
            required
            value={expiresInHours}
            onChange={(e) => setExpiresInHours(e.target.value)}
          />
        </label>
        {naming === "fixed" ? null : (
          <label>
            Maximum uses
            <input
              type="number"
              min={1}
              step={1}
              required
              value={maxUses}
              onChange={(e) => setMaxUses(e.target.value)}
            />
          </label>
        )}
      </div>
      <InlineError error={error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={pending || !chosenPlan}>
          Create token
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
