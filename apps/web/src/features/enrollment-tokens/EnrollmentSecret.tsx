"use client";

import { CopyButton } from "@/features/api-tokens/TokenSecret";

interface EnrollmentSecretProps {
  name: string;
  secret: string;
  commands: { host: string; kubernetesSecret: string; kustomizeFile: string };
  onDismiss: () => void;
}

function CommandRow({ label, text, rows = 2 }: { label: string; text: string; rows?: number }) {
  return (
    <div className="secret-row">
      <textarea readOnly rows={rows} aria-label={label} value={text} onFocus={(e) => e.target.select()} />
      <CopyButton text={text} label={`Copy ${label}`} />
    </div>
  );
}

// Shown right after creation: the API returns the secret (and the commands that contain it) only once.
export function EnrollmentSecret({ name, secret, commands, onDismiss }: EnrollmentSecretProps) {
  return (
    <section className="card secret" aria-labelledby="enrollment-secret-title">
      <h2 id="enrollment-secret-title">Enrollment token “{name}” created</h2>
      <p>Copy the token or a command now. It is shown only once and cannot be retrieved later.</p>
      <div className="secret-row">
        <input
          readOnly
          aria-label="Enrollment token secret"
          value={secret}
          onFocus={(event) => event.target.select()}
        />
        <CopyButton text={secret} label="Copy enrollment token secret" />
      </div>
      <h3>On a host (as root, from the kernflow checkout)</h3>
      <CommandRow label="host enroll command" text={commands.host} />
      <h3>On Kubernetes</h3>
      <p className="muted">Create the Secret the agent DaemonSet reads:</p>
      <CommandRow label="kubectl secret command" text={commands.kubernetesSecret} />
      <p className="muted">
        Or, with the kustomization in <code>deploy/kubernetes</code>, write the file its secretGenerator
        reads:
      </p>
      <CommandRow label="kustomize command" text={commands.kustomizeFile} />
      <div className="form-actions">
        <button type="button" onClick={onDismiss}>
          I have stored it
        </button>
      </div>
    </section>
  );
}
