"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { CountField, FormCard, SelectField, TextField } from "@/features/shell/Form";
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
  const plans = useQuery(trpc.plans.list.queryOptions());
  const [name, setName] = useState("");
  const [planId, setPlanId] = useState("");
  const [naming, setNaming] = useState<Naming>("hostname");
  const [deviceName, setDeviceName] = useState("");
  const [namePrefix, setNamePrefix] = useState("");
  const [expiresInHours, setExpiresInHours] = useState("24");
  const [maxUses, setMaxUses] = useState("1");
  const chosenPlan = planId || plans.data?.[0]?.id || "";

  const submit = () =>
    onSubmit({
      name: name.trim(),
      planId: chosenPlan,
      ...(naming === "fixed" ? { deviceName: deviceName.trim() } : {}),
      ...(naming === "prefix" ? { namePrefix: namePrefix.trim() } : {}),
      expiresInHours: Number(expiresInHours),
      maxUses: naming === "fixed" ? 1 : Number(maxUses),
    });

  return (
    <FormCard
      title="New enrollment token"
      onSubmit={submit}
      error={error}
      submitLabel="Create token"
      pending={pending}
      submitDisabled={!chosenPlan}
      onCancel={onCancel}
    >
      <InlineError error={plans.error} />
      {plans.data && plans.data.length === 0 ? (
        <p className="notice">Create a plan first: every device enrolls into a plan.</p>
      ) : null}
      <div className="form-grid">
        <TextField label="Token name" required value={name} placeholder="e.g. rack 12" onChange={setName} />
        <SelectField label="Plan" required value={chosenPlan} onChange={setPlanId}>
          {(plans.data ?? []).map((plan) => (
            <option key={plan.id} value={plan.id}>
              {plan.name} ({plan.deviceCount} / {plan.maxDevices} devices)
            </option>
          ))}
        </SelectField>
        <SelectField label="Device names" value={naming} onChange={(value) => setNaming(value as Naming)}>
          <option value="hostname">the host's name</option>
          <option value="prefix">a prefix + the host's name</option>
          <option value="fixed">one fixed name (one host)</option>
        </SelectField>
        {naming === "fixed" ? (
          <TextField label="Device name" required value={deviceName} onChange={setDeviceName} />
        ) : null}
        {naming === "prefix" ? (
          <TextField
            label="Name prefix"
            required
            value={namePrefix}
            placeholder="e.g. rack12-"
            onChange={setNamePrefix}
          />
        ) : null}
        <CountField label="Expires in (hours)" required value={expiresInHours} onChange={setExpiresInHours} />
        {naming === "fixed" ? null : (
          <CountField label="Maximum uses" required value={maxUses} onChange={setMaxUses} />
        )}
      </div>
    </FormCard>
  );
}
