"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";
import { ConfirmActions } from "@/features/shell/ConfirmActions";
import { SelectField, TextField } from "@/features/shell/Form";
import { InlineError } from "@/features/shell/InlineError";
import { useTRPC } from "@/trpc/client";

interface Props {
  device: { id: string; name: string; planId: string };
}

// Rename, move and delete, each confirmed before it is sent; shown to admins only.
export function DeviceActions({ device }: Props) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const plans = useQuery(trpc.plans.list.queryOptions());
  const [name, setName] = useState(device.name);
  const [planId, setPlanId] = useState(device.planId);
  const [confirming, setConfirming] = useState<"move" | "delete" | null>(null);

  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.devices.pathKey() });
  const rename = useMutation(trpc.devices.rename.mutationOptions({ onSuccess: refresh }));
  const move = useMutation(
    trpc.devices.move.mutationOptions({
      onSuccess: async () => {
        setConfirming(null);
        await refresh();
      },
    }),
  );
  const remove = useMutation(
    trpc.devices.delete.mutationOptions({
      onSuccess: async () => {
        await refresh();
        router.push("/devices");
      },
    }),
  );
  const targetPlan = plans.data?.find((p) => p.id === planId);

  const submitRename = (event: FormEvent) => {
    event.preventDefault();
    rename.mutate({ id: device.id, name: name.trim() });
  };

  return (
    <section className="card" aria-labelledby="device-actions-title">
      <h2 id="device-actions-title">Manage</h2>
      <form className="inline-form" onSubmit={submitRename} aria-label="Rename device">
        <TextField label="Device name" required value={name} onChange={setName} />
        <button type="submit" disabled={rename.isPending || name.trim() === device.name}>
          Rename
        </button>
      </form>
      <InlineError error={rename.error} />

      <div className="inline-form">
        <SelectField
          label="Plan"
          value={planId}
          onChange={(value) => {
            setPlanId(value);
            setConfirming(null);
          }}
        >
          {(plans.data ?? []).map((plan) => (
            <option key={plan.id} value={plan.id}>
              {plan.name} ({plan.deviceCount} / {plan.maxDevices} devices)
            </option>
          ))}
        </SelectField>
        {confirming === "move" ? (
          <>
            <button
              type="button"
              className="primary"
              disabled={move.isPending}
              onClick={() => move.mutate({ id: device.id, planId })}
            >
              Confirm move to {targetPlan?.name}
            </button>
            <button type="button" onClick={() => setConfirming(null)}>
              Cancel
            </button>
          </>
        ) : (
          <button type="button" disabled={planId === device.planId} onClick={() => setConfirming("move")}>
            Move
          </button>
        )}
      </div>
      <InlineError error={move.error} />

      <div className="form-actions">
        <ConfirmActions
          confirming={confirming === "delete"}
          confirmLabel={`Confirm deleting device ${device.name}`}
          warning="The agent's credential stops working at once; it must enroll again."
          pending={remove.isPending}
          onConfirm={() => remove.mutate({ id: device.id })}
          onKeep={() => setConfirming(null)}
          askText="Delete (unenroll)"
          askDanger
          onAsk={() => setConfirming("delete")}
        />
      </div>
      <InlineError error={remove.error} />
    </section>
  );
}
