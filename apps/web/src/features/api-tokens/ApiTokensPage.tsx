"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useSessionUser } from "@/features/shell/ConsoleShell";
import { TextField } from "@/features/shell/Form";
import { InlineError } from "@/features/shell/InlineError";
import { PageHeader } from "@/features/shell/PageHeader";
import { DataTable, ListStates } from "@/features/shell/ResourceList";
import { formatTime } from "@/features/shell/time";
import { useTRPC } from "@/trpc/client";
import { TokenSecret } from "./TokenSecret";

export function ApiTokensPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const user = useSessionUser();
  const tokens = useQuery(trpc.apiTokens.list.queryOptions());
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);

  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.apiTokens.pathKey() });
  const create = useMutation(
    trpc.apiTokens.create.mutationOptions({
      onSuccess: async (result) => {
        setCreated({ name: result.token.name, secret: result.secret });
        setName("");
        await refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.apiTokens.revoke.mutationOptions({ onSuccess: refresh }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ name: name.trim() });
  };

  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="API tokens"
        summary="Tokens let scripts call the REST API under /api/v1 as you, with your role."
      />
      {created ? (
        <TokenSecret
          name={created.name}
          secret={created.secret}
          email={user.email}
          onDismiss={() => setCreated(null)}
        />
      ) : null}

      <form className="card form inline-form" onSubmit={submit} aria-label="Create API token">
        <TextField
          label="Token name"
          required
          value={name}
          placeholder="e.g. grafana-sync"
          onChange={setName}
        />
        <button type="submit" className="primary" disabled={create.isPending}>
          Create token
        </button>
        <InlineError error={create.error} />
      </form>

      <ListStates
        query={tokens}
        errors={[revoke.error]}
        loading="Loading tokens…"
        empty="You have no API tokens."
      >
        {(rows) => (
          <DataTable
            label="API tokens"
            columns={["Name", "Starts with", "Created", "Last used", "Status"]}
            actions
          >
            {rows.map((token) => (
              <tr key={token.id} className={token.revokedAt ? "dimmed" : undefined}>
                <th scope="row">{token.name}</th>
                <td>
                  <code>{token.prefix}…</code>
                </td>
                <td>{formatTime(token.createdAt)}</td>
                <td>
                  {token.lastUsedAt ? formatTime(token.lastUsedAt) : <span className="muted">never</span>}
                </td>
                <td>{token.revokedAt ? `revoked ${formatTime(token.revokedAt)}` : "active"}</td>
                <td className="row-actions">
                  {token.revokedAt ? null : (
                    <button
                      type="button"
                      className="danger"
                      aria-label={`Revoke token ${token.name}`}
                      disabled={revoke.isPending}
                      onClick={() => revoke.mutate({ id: token.id })}
                    >
                      Revoke
                    </button>
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
