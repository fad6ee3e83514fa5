"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ConfirmActions, useRowDelete } from "@/features/shell/ConfirmActions";
import { useSessionUser } from "@/features/shell/ConsoleShell";
import type { Editing } from "@/features/shell/Form";
import { PageHeader } from "@/features/shell/PageHeader";
import { DataTable, ListStates } from "@/features/shell/ResourceList";
import { hasRole } from "@/features/shell/roles";
import { useTRPC } from "@/trpc/client";
import { emptyPlan, type PlanFields, PlanForm } from "./PlanForm";

const planColumns = [
  "Name",
  "Description",
  { label: "Devices", num: true },
  { label: "Max flows/s", num: true },
  { label: "Retention", num: true },
] as const;

export function PlansPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canManage = hasRole(useSessionUser(), "admin");
  const plans = useQuery(trpc.plans.list.queryOptions());
  const [editing, setEditing] = useState<Editing<PlanFields>>({ mode: "closed" });
  const rowDelete = useRowDelete();

  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.plans.pathKey() });
  const create = useMutation(
    trpc.plans.create.mutationOptions({
      onSuccess: async () => {
        setEditing({ mode: "closed" });
        await refresh();
      },
    }),
  );
  const update = useMutation(
    trpc.plans.update.mutationOptions({
      onSuccess: async () => {
        setEditing({ mode: "closed" });
        await refresh();
      },
    }),
  );
  const remove = useMutation(
    trpc.plans.delete.mutationOptions({
      onSuccess: async () => {
        rowDelete.done();
        await refresh();
      },
    }),
  );

  const openCreate = () => {
    create.reset();
    setEditing({ mode: "create" });
  };

  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Plans"
        summary="A plan sets how many devices may enroll into it, their flow rate limit and how long flows are kept."
        actions={
          canManage ? (
            <button type="button" className="primary" onClick={openCreate}>
              New plan
            </button>
          ) : null
        }
      />

      {editing.mode === "create" ? (
        <PlanForm
          title="New plan"
          initial={emptyPlan}
          submitLabel="Create plan"
          pending={create.isPending}
          error={create.error}
          onSubmit={(fields) => create.mutate(fields)}
          onCancel={() => setEditing({ mode: "closed" })}
        />
      ) : null}
      {editing.mode === "edit" ? (
        <PlanForm
          key={editing.id}
          title={`Edit plan ${editing.initial.name}`}
          initial={editing.initial}
          submitLabel="Save changes"
          pending={update.isPending}
          error={update.error}
          onSubmit={(fields) => update.mutate({ id: editing.id, ...fields })}
          onCancel={() => setEditing({ mode: "closed" })}
        />
      ) : null}

      <ListStates
        query={plans}
        errors={[remove.error]}
        loading="Loading plans…"
        empty="No plans yet. Create one to start enrolling devices."
      >
        {(rows) => (
          <DataTable label="Plans" columns={planColumns} actions>
            {rows.map((plan) => (
              <tr key={plan.id}>
                <th scope="row">{plan.name}</th>
                <td>{plan.description || <span className="muted">—</span>}</td>
                <td className="num">
                  {plan.deviceCount} / {plan.maxDevices}
                </td>
                <td className="num">{plan.maxFlowsPerSecond.toLocaleString("en")}</td>
                <td className="num">{plan.retentionDays} d</td>
                <td className="row-actions">
                  {canManage ? (
                    <ConfirmActions
                      {...rowDelete.props(plan.id, `plan ${plan.name}`, remove, () =>
                        remove.mutate({ id: plan.id }),
                      )}
                    >
                      <button
                        type="button"
                        aria-label={`Edit plan ${plan.name}`}
                        onClick={() => {
                          update.reset();
                          setEditing({ mode: "edit", id: plan.id, initial: plan });
                        }}
                      >
                        Edit
                      </button>
                    </ConfirmActions>
                  ) : null}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </ListStates>
    </section>
  );
}
