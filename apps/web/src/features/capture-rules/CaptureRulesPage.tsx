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
import { type CaptureRuleDraft, CaptureRuleForm } from "./CaptureRuleForm";
import { formatPatterns } from "./patterns";

const emptyRule: CaptureRuleDraft = { name: "", include: ["*"], exclude: ["lo"], sampleRate: 1 };

const ruleColumns = (target: "Plan" | "Device") =>
  [target, "Rule", "Include", "Exclude", { label: "Sampling", num: true }] as const;

type RuleEditing = Editing<
  CaptureRuleDraft,
  {
    target:
      | { scope: "plan"; planId: string; label: string }
      | { scope: "device"; deviceId: string; label: string };
  }
>;

export function CaptureRulesPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canManage = hasRole(useSessionUser(), "admin");
  const rules = useQuery(trpc.captureRules.list.queryOptions({}));
  const [editing, setEditing] = useState<RuleEditing>({ mode: "closed" });
  const rowDelete = useRowDelete();

  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.captureRules.pathKey() });
  const closeAndRefresh = {
    onSuccess: async () => {
      setEditing({ mode: "closed" });
      await refresh();
    },
  };
  const create = useMutation(trpc.captureRules.create.mutationOptions(closeAndRefresh));
  const update = useMutation(trpc.captureRules.update.mutationOptions(closeAndRefresh));
  const remove = useMutation(
    trpc.captureRules.delete.mutationOptions({
      onSuccess: async () => {
        rowDelete.done();
        await refresh();
      },
    }),
  );

  type Rule = NonNullable<typeof rules.data>[number];
  const table = (label: string, list: readonly Rule[]) => (
    <DataTable label={label} columns={ruleColumns(label === "Plan rules" ? "Plan" : "Device")} actions>
      {list.map((rule) => {
        const targetName = (rule.scope === "plan" ? rule.planName : rule.deviceName) ?? "?";
        return (
          <tr key={rule.id}>
            <th scope="row">{targetName}</th>
            <td>{rule.name}</td>
            <td>
              <code>{formatPatterns(rule.include)}</code>
            </td>
            <td>
              {rule.exclude.length > 0 ? (
                <code>{formatPatterns(rule.exclude)}</code>
              ) : (
                <span className="muted">—</span>
              )}
            </td>
            <td className="num">{rule.sampleRate === 1 ? "every packet" : `1 in ${rule.sampleRate}`}</td>
            <td className="row-actions">
              {canManage ? (
                <ConfirmActions
                  {...rowDelete.props(rule.id, `rule ${rule.name}`, remove, () =>
                    remove.mutate({ id: rule.id }),
                  )}
                >
                  <button
                    type="button"
                    aria-label={`Edit rule ${rule.name}`}
                    onClick={() => {
                      update.reset();
                      setEditing({
                        mode: "edit",
                        id: rule.id,
                        initial: rule,
                        target:
                          rule.scope === "plan"
                            ? { scope: "plan", planId: rule.planId ?? "", label: targetName }
                            : { scope: "device", deviceId: rule.deviceId ?? "", label: targetName },
                      });
                    }}
                  >
                    Edit
                  </button>
                </ConfirmActions>
              ) : null}
            </td>
          </tr>
        );
      })}
    </DataTable>
  );

  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Capture rules"
        summary="Which interfaces agents capture on. A device's own rule overrides its plan's; without either, an agent captures every interface except lo."
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
              New rule
            </button>
          ) : null
        }
      />
      {editing.mode === "create" ? (
        <CaptureRuleForm
          title="New capture rule"
          fixedTarget={null}
          initial={emptyRule}
          submitLabel="Create rule"
          pending={create.isPending}
          error={create.error}
          onSubmit={(target, draft) => create.mutate({ ...target, ...draft })}
          onCancel={() => setEditing({ mode: "closed" })}
        />
      ) : null}
      {editing.mode === "edit" ? (
        <CaptureRuleForm
          key={editing.id}
          title={`Edit rule ${editing.initial.name}`}
          fixedTarget={editing.target}
          ruleId={editing.id}
          initial={editing.initial}
          submitLabel="Save changes"
          pending={update.isPending}
          error={update.error}
          onSubmit={(_target, draft) => update.mutate({ id: editing.id, ...draft })}
          onCancel={() => setEditing({ mode: "closed" })}
        />
      ) : null}

      <ListStates
        query={rules}
        errors={[remove.error]}
        loading="Loading capture rules…"
        empty="No capture rules: every agent captures every interface except lo."
      >
        {(rows) => {
          const planRules = rows.filter((r) => r.scope === "plan");
          const deviceRules = rows.filter((r) => r.scope === "device");
          return (
            <>
              {planRules.length > 0 ? (
                <>
                  <h2>Per plan</h2>
                  {table("Plan rules", planRules)}
                </>
              ) : null}
              {deviceRules.length > 0 ? (
                <>
                  <h2>Per device</h2>
                  {table("Device rules", deviceRules)}
                </>
              ) : null}
            </>
          );
        }}
      </ListStates>
    </section>
  );
}
