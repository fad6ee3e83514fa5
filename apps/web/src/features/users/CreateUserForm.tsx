"use client";

import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import type { SessionUser } from "@/features/shell/ConsoleShell";
import { FormCard, SelectField, TextField } from "@/features/shell/Form";
import { roleNames, roles } from "@/features/shell/roles";
import { useTRPC } from "@/trpc/client";

export function CreateUserForm({ onCreated, onCancel }: { onCreated: () => void; onCancel: () => void }) {
  const trpc = useTRPC();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState<SessionUser["role"]>("member");
  const [password, setPassword] = useState("");
  const create = useMutation(trpc.users.create.mutationOptions({ onSuccess: () => onCreated() }));

  const submit = () => create.mutate({ email: email.trim(), name: name.trim(), role, password });

  return (
    <FormCard
      title="New user"
      onSubmit={submit}
      error={create.error}
      submitLabel="Create user"
      pending={create.isPending}
      onCancel={onCancel}
    >
      <div className="form-grid">
        <TextField label="Email" type="email" required value={email} onChange={setEmail} />
        <TextField label="Name" required value={name} onChange={setName} />
        <SelectField label="Role" value={role} onChange={(value) => setRole(value as SessionUser["role"])}>
          {roles.map((option) => (
            <option key={option} value={option}>
              {roleNames[option]}
            </option>
          ))}
        </SelectField>
        <TextField
          label="Initial password"
          type="password"
          autoComplete="new-password"
          required
          value={password}
          onChange={setPassword}
        />
      </div>
    </FormCard>
  );
}
