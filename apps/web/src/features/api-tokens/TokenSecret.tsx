"use client";

import { useEffect, useState } from "react";
import { curlExamples } from "./curlExamples";

interface TokenSecretProps {
  name: string;
  secret: string;
  email: string;
  onDismiss: () => void;
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2_000);
    return () => clearTimeout(timer);
  }, [copied]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setFailed(false);
      setCopied(true);
    } catch {
      // Clipboard access needs a secure context or permission; the text stays selectable either way.
      setFailed(true);
    }
  };
  return (
    <button type="button" aria-label={label} onClick={copy}>
      {copied ? "Copied" : failed ? "Copy failed: select the text" : "Copy"}
    </button>
  );
}

// Shown right after creation: the API returns the secret this once and stores only its hash.
export function TokenSecret({ name, secret, email, onDismiss }: TokenSecretProps) {
  const origin = typeof window === "undefined" ? "" : window.location.origin;
  const examples = curlExamples(origin, email, secret);
  return (
    <section className="card secret" aria-labelledby="secret-title">
      <h2 id="secret-title">Token “{name}” created</h2>
      <p>Copy the secret now. It is shown only once and cannot be retrieved later.</p>
      <div className="secret-row">
        <input
          readOnly
          aria-label="API token secret"
          value={secret}
          onFocus={(event) => event.target.select()}
        />
        <CopyButton text={secret} label="Copy token secret" />
      </div>
      <h3>Try it</h3>
      <div className="secret-row">
        <textarea
          readOnly
          rows={2}
          aria-label="curl example with X-CH-Auth headers"
          value={examples.kentik}
        />
        <CopyButton text={examples.kentik} label="Copy curl example with X-CH-Auth headers" />
      </div>
      <div className="secret-row">
        <textarea readOnly rows={2} aria-label="curl example with bearer token" value={examples.bearer} />
        <CopyButton text={examples.bearer} label="Copy curl example with bearer token" />
      </div>
      <div className="form-actions">
        <button type="button" onClick={onDismiss}>
          I have stored it
        </button>
      </div>
    </section>
  );
}
