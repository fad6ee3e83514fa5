"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ConfirmActions } from "@/features/shell/ConfirmActions";
import { PageHeader } from "@/features/shell/PageHeader";
import { DataTable, ListStates } from "@/features/shell/ResourceList";
import { RoleRequired } from "@/features/shell/RoleRequired";
import { formatTime } from "@/features/shell/time";
import { useTRPC } from "@/trpc/client";
import { EnrollmentSecret } from "./EnrollmentSecret";
import { EnrollmentTokenForm } from "./EnrollmentTokenForm";

const stateLabel = { active: "active", expired: "expired", used_up: "used up", revoked: "revoked" } as const;

const tokenColumns = [
  "Name",
  "Starts with",
  "Plan",
  "Device names",
  { label: "Uses", num: true },
  "Last use",
  "Expires",
  "Status",
] as const;

interface Created {
  name: string;
  secret: string;
  commands: { host: string; kubernetesSecret: string; kustomizeFile: string };
}

export function EnrollmentTokensPage() {
  return (
    <RoleRequired title="Enrollment tokens" minimum="admin">
      <EnrollmentTokens />
    </RoleRequired>
  );
}

function EnrollmentTokens() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tokens = useQuery(trpc.enrollmentTokens.list.queryOptions());
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const [confirmingRevoke, setConfirmingRevoke] = useState<string | null>(null);

  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.enrollmentTokens.pathKey() });
  const create = useMutation(
    trpc.enrollmentTokens.create.mutationOptions({
      onSuccess: async (result) => {
        setCreated({ name: result.token.name, secret: result.secret, commands: result.commands });
        setCreating(false);
        await refresh();
      },
    }),
  );
  const revoke = useMutation(
    trpc.enrollmentTokens.revoke.mutationOptions({
      onSuccess: async () => {
        setConfirmingRevoke(null);
        await refresh();
      },
    }),
  );

  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Enrollment tokens"
        summary="A token lets agents enroll into a plan: each host exchanges it for its own credential."
        actions={
          <button
            type="button"
            className="primary"
            onClick={() => {
              create.reset();
              setCreating(true);
            }}
          >
            New token
          </button>
        }
      />
      {created ? (
        <EnrollmentSecret
          name={created.name}
          secret={created.secret}
          commands={created.commands}
          onDismiss={() => setCreated(null)}
        />
      ) : null}
      {creating ? (
        <EnrollmentTokenForm
          pending={create.isPending}
          error={create.error}
          // The console URL agents should reach is the one this page is served from.
          onSubmit={(fields) => create.mutate({ ...fields, serverUrl: window.location.origin })}
          onCancel={() => setCreating(false)}
        />
      ) : null}

      <ListStates
        query={tokens}
        errors={[revoke.error]}
        loading="Loading tokens…"
        empty="No enrollment tokens yet."
      >
        {(rows) => (
          <DataTable label="Enrollment tokens" columns={tokenColumns} actions>
            {rows.map((token) => (
              <tr key={token.id} className={token.state === "active" ? undefined : "dimmed"}>
                <th scope="row">{token.name}</th>
                <td>
                  <code>{token.prefix}…</code>
                </td>
                <td>{token.planName}</td>
                <td>
                  {token.deviceName ? (
                    <code>{token.deviceName}</code>
                  ) : token.namePrefix ? (
                    <code>{token.namePrefix}&lt;hostname&gt;</code>
                  ) : (
                    <span className="muted">hostname</span>
                  )}
                </td>
                <td className="num">
                  {token.uses} / {token.maxUses}
                </td>
                <td>
                  {token.lastUsedAt ? formatTime(token.lastUsedAt) : <span className="muted">never</span>}
                </td>
                <td>{formatTime(token.expiresAt)}</td>
                <td>
                  {stateLabel[token.state]}
                  {token.revokedAt ? ` ${formatTime(token.revokedAt)}` : ""}
                </td>
                <td className="row-actions">
                  {token.revokedAt ? null : (
                    <ConfirmActions
                      confirming={confirmingRevoke === token.id}
                      confirmLabel={`Confirm revoking token ${token.name}`}
                      confirmText="Confirm revoke"
                      pending={revoke.isPending}
                      onConfirm={() => revoke.mutate({ id: token.id })}
                      onKeep={() => setConfirmingRevoke(null)}
                      askLabel={`Revoke token ${token.name}`}
                      askText="Revoke"
                      askDanger
                      onAsk={() => setConfirmingRevoke(token.id)}
                    />
                  )}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </ListStates>
    </section>
  );
}
