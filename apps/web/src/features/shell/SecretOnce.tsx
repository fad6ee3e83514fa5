"use client";

import { type ReactNode, useEffect, useId, useState } from "react";

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

interface CopyRowProps {
  /** The field's accessible name. */
  label: string;
  text: string;
  /** The copy button's accessible name; "Copy <label>" unless given. */
  copyLabel?: string;
  /** A command spans lines: with `rows` the text is shown in a textarea of that height, else in one line. */
  rows?: number;
}

// Read-only text with a copy button; focusing the text selects it, for when the clipboard is refused.
export function CopyRow({ label, text, copyLabel = `Copy ${label}`, rows }: CopyRowProps) {
  return (
    <div className="secret-row">
      {rows === undefined ? (
        <input readOnly aria-label={label} value={text} onFocus={(event) => event.target.select()} />
      ) : (
        <textarea
          readOnly
          rows={rows}
          aria-label={label}
          value={text}
          onFocus={(event) => event.target.select()}
        />
      )}
      <CopyButton text={text} label={copyLabel} />
    </div>
  );
}

interface SecretOnceProps {
  title: ReactNode;
  /** Says that the secret is shown only this once. */
  intro: ReactNode;
  onDismiss: () => void;
  /** The secret's CopyRow and whatever else is built from it. */
  children: ReactNode;
}

// Shown right after a secret is created: the API returns it this once and stores only its hash.
export function SecretOnce({ title, intro, onDismiss, children }: SecretOnceProps) {
  const titleId = useId();
  return (
    <section className="card secret" aria-labelledby={titleId}>
      <h2 id={titleId}>{title}</h2>
      <p>{intro}</p>
      {children}
      <div className="form-actions">
        <button type="button" onClick={onDismiss}>
          I have stored it
        </button>
      </div>
    </section>
  );
}
