"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ConfirmActions, useRowDelete } from "@/features/shell/ConfirmActions";
import { useSessionUser } from "@/features/shell/ConsoleShell";
import { InlineError } from "@/features/shell/InlineError";
import { PageHeader } from "@/features/shell/PageHeader";
import { DataTable, ListStates } from "@/features/shell/ResourceList";
import { hasRole } from "@/features/shell/roles";
import { formatTime } from "@/features/shell/time";
import { useTRPC } from "@/trpc/client";
import { BytecodeUploadForm } from "./BytecodeUploadForm";

const bytecodeColumns = [
  "Name",
  "Kernel match",
  "SHA-256",
  { label: "Size", num: true },
  { label: "Devices", num: true },
  "Uploaded",
] as const;

function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

export function BytecodePage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canManage = hasRole(useSessionUser(), "admin");
  const session = useQuery(trpc.auth.session.queryOptions());
  const list = useQuery(trpc.bytecode.list.queryOptions());
  const [uploading, setUploading] = useState(false);
  const [editing, setEditing] = useState<{ id: string; kernelMatch: string } | null>(null);
  const rowDelete = useRowDelete();

  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.bytecode.pathKey() });
  const setMatch = useMutation(
    trpc.bytecode.setKernelMatch.mutationOptions({
      onSuccess: async () => {
        setEditing(null);
        await refresh();
      },
    }),
  );
  const remove = useMutation(
    trpc.bytecode.delete.mutationOptions({
      onSuccess: async () => {
        rowDelete.done();
        await refresh();
      },
    }),
  );
  // The server refuses to delete an object devices run unless asked to force; offer that after it says so.
  const inUseRefusal = remove.error?.message.includes("is in use by") ? remove.variables?.id : undefined;

  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Bytecode"
        summary="eBPF objects served to agents. Each agent runs the best match for its kernel: an exact release, else the most specific pattern, else the default built from bpf/."
        actions={
          canManage ? (
            <button type="button" className="primary" onClick={() => setUploading(true)}>
              Upload bytecode
            </button>
          ) : null
        }
      />
      {uploading ? (
        <BytecodeUploadForm
          csrfToken={session.data?.csrfToken ?? null}
          onUploaded={async () => {
            setUploading(false);
            await refresh();
          }}
          onCancel={() => setUploading(false)}
        />
      ) : null}

      <InlineError error={setMatch.error} />
      <InlineError error={remove.error} />
      {inUseRefusal ? (
        <p>
          <button
            type="button"
            className="danger"
            disabled={remove.isPending}
            onClick={() => remove.mutate({ id: inUseRefusal, force: true })}
          >
            Delete anyway (devices move to the next best bytecode)
          </button>
        </p>
      ) : null}
      <ListStates
        query={list}
        loading="Loading bytecode…"
        empty="No bytecode stored. The console registers bpf/build/kernflow.bpf.o at start once it is built."
      >
        {(rows) => (
          <DataTable label="Bytecode" columns={bytecodeColumns} actions>
            {rows.map((b) => (
              <tr key={b.id}>
                <th scope="row">
                  {b.name} {b.isDefault ? <span className="badge">default</span> : null}
                </th>
                <td>
                  {editing?.id === b.id ? (
                    <form
                      className="inline-form"
                      onSubmit={(event) => {
                        event.preventDefault();
                        setMatch.mutate({ id: b.id, kernelMatch: editing.kernelMatch.trim() });
                      }}
                    >
                      <input
                        aria-label={`Kernel match of ${b.name}`}
                        value={editing.kernelMatch}
                        onChange={(event) => setEditing({ id: b.id, kernelMatch: event.target.value })}
                      />
                      <button type="submit" disabled={setMatch.isPending}>
                        Save
                      </button>
                      <button type="button" onClick={() => setEditing(null)}>
                        Cancel
                      </button>
                    </form>
                  ) : (
                    <code>{b.kernelMatch}</code>
                  )}
                </td>
                <td>
                  <code title={b.sha256}>{b.sha256.slice(0, 12)}</code>
                </td>
                <td className="num">{formatSize(b.size)}</td>
                <td className="num">{b.devicesUsing}</td>
                <td>
                  {formatTime(b.createdAt)}
                  {b.uploadedBy ? ` by ${b.uploadedBy}` : ""}
                </td>
                <td className="row-actions">
                  {canManage && !b.isDefault ? (
                    <ConfirmActions
                      {...rowDelete.props(b.id, `bytecode ${b.name}`, remove, () =>
                        remove.mutate({ id: b.id, force: false }),
                      )}
                    >
                      <button
                        type="button"
                        aria-label={`Change kernel match of ${b.name}`}
                        onClick={() => {
                          setMatch.reset();
                          setEditing({ id: b.id, kernelMatch: b.kernelMatch });
                        }}
                      >
                        Kernel match
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
