"use client";

import { useQuery } from "@tanstack/react-query";
import { InlineError } from "@/features/shell/InlineError";
import { useTRPC } from "@/trpc/client";
import { useDebounced } from "./useDebounced";

export type RuleTarget = { scope: "plan"; planId: string } | { scope: "device"; deviceId: string };

/**
 * The live preview under the form: once typing pauses, the draft (not saved) is matched on the server
 * against each device's reported interfaces, with the same matcher the agent runs.
 */
export function RulePreview({
  target,
  include,
  exclude,
  ruleId,
}: {
  target: RuleTarget | null;
  include: string[];
  exclude: string[];
  ruleId?: string | undefined;
}) {
  const trpc = useTRPC();
  const draft = useDebounced(
    target && include.length > 0 ? { ...target, include, exclude, ruleId } : null,
    300,
  );
  const preview = useQuery({
    ...trpc.captureRules.preview.queryOptions(draft ?? { id: "00000000-0000-0000-0000-000000000000" }),
    enabled: draft !== null,
    // Keep showing the last answer while the next one is on its way, so the list does not flicker.
    placeholderData: (previous) => previous,
    retry: false,
  });

  return (
    <section className="card" aria-label="Preview" aria-live="polite">
      <h3>Preview</h3>
      {draft === null ? <p className="muted">Choose a target and at least one include pattern.</p> : null}
      {draft !== null ? <InlineError error={preview.error} /> : null}
      {draft !== null && preview.data && preview.data.length === 0 ? (
        <p className="muted">No device in this scope yet.</p>
      ) : null}
      {draft !== null && preview.data && preview.data.length > 0 && !preview.error ? (
        <ul className="preview-list">
          {preview.data.map((d) => (
            <li key={d.deviceId} data-device={d.deviceName}>
              {d.summary}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
