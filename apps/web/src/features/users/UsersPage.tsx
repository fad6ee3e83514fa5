"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ConfirmActions, useRowDelete } from "@/features/shell/ConfirmActions";
import { type SessionUser, useSessionUser } from "@/features/shell/ConsoleShell";
import { PageHeader } from "@/features/shell/PageHeader";
import { DataTable, ListStates } from "@/features/shell/ResourceList";
import { RoleRequired } from "@/features/shell/RoleRequired";
import { roleNames, roles } from "@/features/shell/roles";
import { formatTime } from "@/features/shell/time";
import { useTRPC } from "@/trpc/client";
import { CreateUserForm } from "./CreateUserForm";
import { ResetPasswordForm } from "./ResetPasswordForm";

type Role = SessionUser["role"];

export function UsersPage() {
  return (
    <RoleRequired title="Users" minimum="super_admin">
      <UserAdministration />
    </RoleRequired>
  );
}

function UserAdministration() {
  const me = useSessionUser();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const users = useQuery(trpc.users.list.queryOptions());
  const [creating, setCreating] = useState(false);
  const rowDelete = useRowDelete();
  const [resetting, setResetting] = useState<{ id: string; email: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.users.pathKey() });
  const update = useMutation(trpc.users.update.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(
    trpc.users.delete.mutationOptions({
      onSuccess: async () => {
        rowDelete.done();
        await refresh();
      },
    }),
  );

  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Users"
        summary="Members read everything; admins manage the fleet; super admins also manage users."
        actions={
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New user
          </button>
        }
      />
      {creating ? (
        <CreateUserForm
          onCreated={async () => {
            setCreating(false);
            await refresh();
          }}
          onCancel={() => setCreating(false)}
        />
      ) : null}
      {resetting ? (
        <ResetPasswordForm
          key={resetting.id}
          user={resetting}
          onDone={(email) => {
            setResetting(null);
            setNotice(`Password changed for ${email}; their sessions were ended.`);
          }}
          onCancel={() => setResetting(null)}
        />
      ) : null}
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}

      <ListStates query={users} errors={[update.error, remove.error]} loading="Loading users…">
        {(rows) => (
          <DataTable label="Users" columns={["Email", "Name", "Role", "Last sign-in"]} actions>
            {rows.map((user) => (
              <tr key={user.id}>
                <th scope="row">
                  {user.email}
                  {user.id === me.id ? <span className="badge">you</span> : null}
                </th>
                <td>{user.name}</td>
                <td>
                  <select
                    aria-label={`Role of ${user.email}`}
                    value={user.role}
                    disabled={update.isPending || user.id === me.id}
                    onChange={(event) => update.mutate({ id: user.id, role: event.target.value as Role })}
                  >
                    {roles.map((role) => (
                      <option key={role} value={role}>
                        {roleNames[role]}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  {user.lastLoginAt ? formatTime(user.lastLoginAt) : <span className="muted">never</span>}
                </td>
                <td className="row-actions">
                  <button
                    type="button"
                    aria-label={`Reset password of ${user.email}`}
                    onClick={() => {
                      setNotice(null);
                      setResetting({ id: user.id, email: user.email });
                    }}
                  >
                    Reset password
                  </button>
                  {user.id === me.id ? null : (
                    <ConfirmActions
                      {...rowDelete.props(user.id, `user ${user.email}`, remove, () =>
                        remove.mutate({ id: user.id }),
                      )}
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
