"use client";

import { CopyRow, SecretOnce } from "@/features/shell/SecretOnce";

interface EnrollmentSecretProps {
  name: string;
  secret: string;
  commands: { host: string; kubernetesSecret: string; kustomizeFile: string };
  onDismiss: () => void;
}

// The commands contain the secret, so they too are shown only this once.
export function EnrollmentSecret({ name, secret, commands, onDismiss }: EnrollmentSecretProps) {
  return (
    <SecretOnce
      title={<>Enrollment token “{name}” created</>}
      intro="Copy the token or a command now. It is shown only once and cannot be retrieved later."
      onDismiss={onDismiss}
    >
      <CopyRow label="Enrollment token secret" text={secret} copyLabel="Copy enrollment token secret" />
      <h3>On a host (as root, from the kernflow checkout)</h3>
      <CopyRow label="host enroll command" text={commands.host} rows={2} />
      <h3>On Kubernetes</h3>
      <p className="muted">Create the Secret the agent DaemonSet reads:</p>
      <CopyRow label="kubectl secret command" text={commands.kubernetesSecret} rows={2} />
      <p className="muted">
        Or, with the kustomization in <code>deploy/kubernetes</code>, write the file its secretGenerator
        reads:
      </p>
      <CopyRow label="kustomize command" text={commands.kustomizeFile} rows={2} />
    </SecretOnce>
  );
}
