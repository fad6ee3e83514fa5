"use client";

import { CopyRow, SecretOnce } from "@/features/shell/SecretOnce";
import { curlExamples } from "./curlExamples";

interface TokenSecretProps {
  name: string;
  secret: string;
  email: string;
  onDismiss: () => void;
}

export function TokenSecret({ name, secret, email, onDismiss }: TokenSecretProps) {
  const origin = typeof window === "undefined" ? "" : window.location.origin;
  const examples = curlExamples(origin, email, secret);
  return (
    <SecretOnce
      title={<>Token “{name}” created</>}
      intro="Copy the secret now. It is shown only once and cannot be retrieved later."
      onDismiss={onDismiss}
    >
      <CopyRow label="API token secret" copyLabel="Copy token secret" text={secret} />
      <h3>Try it</h3>
      <CopyRow label="curl example with X-CH-Auth headers" text={examples.kentik} rows={2} />
      <CopyRow label="curl example with bearer token" text={examples.bearer} rows={2} />
    </SecretOnce>
  );
}
