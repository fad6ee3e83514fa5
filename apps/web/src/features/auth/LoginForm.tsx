"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";
import { TextField } from "@/features/shell/Form";
import { InlineError } from "@/features/shell/InlineError";
import { useTRPC } from "@/trpc/client";
import { safeNextPath } from "./nextPath";

export function LoginForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const login = useMutation(
    trpc.auth.login.mutationOptions({
      onSuccess: (session) => {
        // The login answer is the new session: seeding the cache spares the shell a round trip.
        queryClient.setQueryData(trpc.auth.session.queryKey(), session);
        // Read at submit time rather than with useSearchParams, which would keep the form out of the
        // prerendered page.
        router.replace(safeNextPath(new URLSearchParams(window.location.search).get("next")));
      },
    }),
  );

  const submit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate({ email, password });
  };

  return (
    <form className="card login" onSubmit={submit} aria-labelledby="login-title">
      <div className="brand">kernflow</div>
      <h1 id="login-title">Sign in</h1>
      <TextField
        label="Email"
        type="email"
        name="email"
        autoComplete="username"
        required
        value={email}
        onChange={setEmail}
      />
      <TextField
        label="Password"
        type="password"
        name="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={setPassword}
      />
      <InlineError error={login.error} />
      <button type="submit" className="primary" disabled={login.isPending}>
        {login.isPending ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
