"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ConfirmActions, useRowDelete } from "@/features/shell/ConfirmActions";
import { useSessionUser } from "@/features/shell/ConsoleShell";
import type { Editing } from "@/features/shell/Form";
import { PageHeader } from "@/features/shell/PageHeader";
import { DataTable, ListStates } from "@/features/shell/ResourceList";
import { hasRole } from "@/features/shell/roles";
import { formatTime } from "@/features/shell/time";
import { useTRPC } from "@/trpc/client";
import { type ExportTargetFields, ExportTargetForm, emptyExportTarget, kindLabels } from "./ExportTargetForm";

const targetColumns = [
  "Name",
  "Kind",
  "URL",
  "Plan",
  "State",
  { label: "Records sent", num: true },
  "Last success",
  "Last error",
] as const;

/** Delivery state changes as records flow; refreshed while the page is open. */
const REFRESH_MS = 5_000;

export function ExportTargetsPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canManage = hasRole(useSessionUser(), "admin");
  const targets = useQuery({ ...trpc.exportTargets.list.queryOptions(), refetchInterval: REFRESH_MS });
  const plans = useQuery(trpc.plans.list.queryOptions());
  const [editing, setEditing] = useState<Editing<ExportTargetFields>>({ mode: "closed" });
  const rowDelete = useRowDelete();
  const [testResult, setTestResult] = useState<{ id: string; ok: boolean; error: string | null } | null>(
    null,
  );

  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.exportTargets.pathKey() });
  const closeAndRefresh = async () => {
    setEditing({ mode: "closed" });
    await refresh();
  };
  const create = useMutation(trpc.exportTargets.create.mutationOptions({ onSuccess: closeAndRefresh }));
  const update = useMutation(trpc.exportTargets.update.mutationOptions({ onSuccess: closeAndRefresh }));
  const toggle = useMutation(trpc.exportTargets.update.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(
    trpc.exportTargets.delete.mutationOptions({
      onSuccess: async () => {
        rowDelete.done();
        await refresh();
      },
    }),
  );
  const sendTest = useMutation(
    trpc.exportTargets.sendTest.mutationOptions({
      onSuccess: async (result) => {
        setTestResult({ id: result.target.id, ok: result.ok, error: result.error });
        await refresh();
      },
    }),
  );
  const planList = plans.data ?? [];

  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Exports"
        summary="Where flow records go besides this console: IPFIX collectors (nfdump, pmacct, ntopng, ElastiFlow…) over UDP or TCP. Agents of the target's plan export directly, and the console exports what it ingests."
        actions={
          canManage ? (
            <button
              type="button"
              className="primary"
              onClick={() => {
                create.reset();
                setEditing({ mode: "create" });
              }}
            >
              New export target
            </button>
          ) : null
        }
      />

      {editing.mode === "create" ? (
        <ExportTargetForm
          title="New export target"
          initial={emptyExportTarget}
          plans={planList}
          submitLabel="Create target"
          pending={create.isPending}
          error={create.error}
          onSubmit={(fields) => create.mutate(fields)}
          onCancel={() => setEditing({ mode: "closed" })}
        />
      ) : null}
      {editing.mode === "edit" ? (
        <ExportTargetForm
          key={editing.id}
          title={`Edit export target ${editing.initial.name}`}
          initial={editing.initial}
          plans={planList}
          submitLabel="Save changes"
          pending={update.isPending}
          error={update.error}
          onSubmit={(fields) => update.mutate({ id: editing.id, ...fields })}
          onCancel={() => setEditing({ mode: "closed" })}
        />
      ) : null}

      {testResult !== null ? (
        <p role={testResult.ok ? "status" : "alert"} className={testResult.ok ? "notice" : "error"}>
          {testResult.ok
            ? "Test record sent: the collector accepted the message."
            : `Test record failed: ${testResult.error}`}
        </p>
      ) : null}
      <ListStates
        query={targets}
        errors={[remove.error, toggle.error, sendTest.error]}
        loading="Loading export targets…"
        empty="No export targets yet. Records are kept in this console only."
      >
        {(rows) => (
          <DataTable label="Export targets" columns={targetColumns} actions>
            {rows.map((target) => (
              <tr key={target.id}>
                <th scope="row">{target.name}</th>
                <td>{kindLabels[target.kind]}</td>
                <td>
                  <code>{target.url}</code>
                </td>
                <td>{target.planName ?? <span className="muted">All plans</span>}</td>
                <td>{target.enabled ? "Enabled" : "Paused"}</td>
                <td className="num">{target.recordsSent.toLocaleString("en")}</td>
                <td>
                  {target.lastSuccessAt ? (
                    formatTime(target.lastSuccessAt)
                  ) : (
                    <span className="muted">never</span>
                  )}
                </td>
                <td>
                  {target.lastError ? (
                    <span title={target.lastErrorAt ? formatTime(target.lastErrorAt) : undefined}>
                      {target.lastError}
                    </span>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td className="row-actions">
                  {canManage ? (
                    <ConfirmActions
                      {...rowDelete.props(target.id, `export target ${target.name}`, remove, () =>
                        remove.mutate({ id: target.id }),
                      )}
                    >
                      <button
                        type="button"
                        aria-label={`Send a test record to ${target.name}`}
                        disabled={sendTest.isPending || target.kind === "nats"}
                        onClick={() => {
                          setTestResult(null);
                          sendTest.mutate({ id: target.id });
                        }}
                      >
                        Send test record
                      </button>
                      <button
                        type="button"
                        aria-label={`${target.enabled ? "Pause" : "Enable"} export target ${target.name}`}
                        disabled={toggle.isPending}
                        onClick={() => toggle.mutate({ id: target.id, enabled: !target.enabled })}
                      >
                        {target.enabled ? "Pause" : "Enable"}
                      </button>
                      <button
                        type="button"
                        aria-label={`Edit export target ${target.name}`}
                        onClick={() => {
                          update.reset();
                          setEditing({ mode: "edit", id: target.id, initial: target });
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
