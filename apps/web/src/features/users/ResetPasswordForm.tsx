"use client";

import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { TextField } from "@/features/shell/Form";
import { InlineError } from "@/features/shell/InlineError";
import { useTRPC } from "@/trpc/client";

interface ResetPasswordFormProps {
  user: { id: string; email: string };
  onDone: (email: string) => void;
  onCancel: () => void;
}

export function ResetPasswordForm({ user, onDone, onCancel }: ResetPasswordFormProps) {
  const trpc = useTRPC();
  const [password, setPassword] = useState("");
  const reset = useMutation(
    trpc.users.resetPassword.mutationOptions({ onSuccess: () => onDone(user.email) }),
  );

  const submit = (event: FormEvent) => {
    event.preventDefault();
    reset.mutate({ id: user.id, password });
  };

  return (
    <form className="card form" onSubmit={submit} aria-labelledby="reset-title">
      <h2 id="reset-title">New password for {user.email}</h2>
      <p className="muted">This also unlocks the account and signs the user out everywhere.</p>
      <div className="inline-form">
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          value={password}
          onChange={setPassword}
        />
        <button type="submit" className="primary" disabled={reset.isPending}>
          Set password
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <InlineError error={reset.error} />
    </form>
  );
}
