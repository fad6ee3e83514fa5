"use client";

import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import type { SessionUser } from "@/features/shell/ConsoleShell";
import { InlineError } from "@/features/shell/InlineError";
import { roleNames, roles } from "@/features/shell/roles";
import { useTRPC } from "@/trpc/client";

export function CreateUserForm({ onCreated, onCancel }: { onCreated: () => void; onCancel: () => void }) {
  const trpc = useTRPC();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState<SessionUser["role"]>("member");
  const [password, setPassword] = useState("");
  const create = useMutation(trpc.users.create.mutationOptions({ onSuccess: () => onCreated() }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ email: email.trim(), name: name.trim(), role, password });
  };

  return (
    <form className="card form" onSubmit={submit} aria-labelledby="new-user-title">
      <h2 id="new-user-title">New user</h2>
      <div className="form-grid">
        <label>
          Email
          <input type="email" required value={email} onChange={(event) => setEmail(event.target.value)} />
        </label>
        <label>
          Name
          <input required value={name} onChange={(event) => setName(event.target.value)} />
        </label>
        <label>
          Role
          <select value={role} onChange={(event) => setRole(event.target.value as SessionUser["role"])}>
            {roles.map((option) => (
              <option key={option} value={option}>
                {roleNames[option]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Initial password
          <input
            type="password"
            autoComplete="new-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
      </div>
      <InlineError error={create.error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={create.isPending}>
          Create user
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
