"use client";

import { useState } from "react";
import { FormCard, TextField } from "@/features/shell/Form";
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
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [kernelMatch, setKernelMatch] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async () => {
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
    <FormCard
      title="Upload bytecode"
      onSubmit={submit}
      error={error}
      submitLabel="Upload"
      pendingLabel="Uploading…"
      pending={pending}
      submitDisabled={!file || !csrfToken}
      onCancel={onCancel}
    >
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
        <TextField
          label="Name"
          value={name}
          placeholder={file?.name ?? "e.g. kernflow for 5.4 aws"}
          onChange={setName}
        />
        <TextField
          label="Kernel match"
          required
          value={kernelMatch}
          placeholder="5.4.*-aws or 6.8.0-45-generic"
          onChange={setKernelMatch}
        />
      </div>
    </FormCard>
  );
}
