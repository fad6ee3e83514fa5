"use client";

import { type FormEvent, useId, useState } from "react";
import { InlineError } from "@/features/shell/InlineError";
import { uploadBytecodeFile } from "./upload";

export function BytecodeUploadForm({
  csrfToken,
  onUploaded,
  onCancel,
}: {
  csrfToken: string | null;
  onUploaded: () => Promise<void>;
  onCancel: () => void;
}) {
  const titleId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [kernelMatch, setKernelMatch] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file || !csrfToken) return;
    setPending(true);
    setError(null);
    try {
      await uploadBytecodeFile({
        file,
        name: name.trim() || file.name,
        kernelMatch: kernelMatch.trim(),
        csrfToken,
      });
      await onUploaded();
    } catch (caught) {
      setError(caught);
    } finally {
      setPending(false);
    }
  };

  return (
    <form className="card form" onSubmit={submit} aria-labelledby={titleId}>
      <h2 id={titleId}>Upload bytecode</h2>
      <p className="muted">
        A BPF object compiled from <code>bpf/</code> with <code>clang -target bpf -g</code> (8 MiB at most).
        It is checked before it is stored: ELF, machine BPF, BTF present, and every program and map the agent
        needs.
      </p>
      <div className="form-grid">
        <label>
          Object file
          <input
            type="file"
            required
            accept=".o,application/octet-stream"
            onChange={(event) => setFile(event.target.files?.[0] ?? null)}
          />
        </label>
        <label>
          Name
          <input
            value={name}
            placeholder={file?.name ?? "e.g. kernflow for 5.4 aws"}
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label>
          Kernel match
          <input
            required
            value={kernelMatch}
            placeholder="5.4.*-aws or 6.8.0-45-generic"
            onChange={(event) => setKernelMatch(event.target.value)}
          />
        </label>
      </div>
      <InlineError error={error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={pending || !file || !csrfToken}>
          {pending ? "Uploading…" : "Upload"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
