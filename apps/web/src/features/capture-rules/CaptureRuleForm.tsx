"use client";

import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";
import { InlineError } from "@/features/shell/InlineError";
import { useTRPC } from "@/trpc/client";
import { formatPatterns, parsePatterns } from "./patterns";
import { RulePreview, type RuleTarget } from "./RulePreview";

export interface CaptureRuleDraft {
  name: string;
  include: string[];
  exclude: string[];
  sampleRate: number;
}

interface Props {
  title: string;
  /** Set when editing: a rule's target cannot change, only its globs, name and sampling. */
  fixedTarget: (RuleTarget & { label: string }) | null;
  ruleId?: string | undefined;
  initial: CaptureRuleDraft;
  submitLabel: string;
  pending: boolean;
  error: unknown;
  onSubmit: (target: RuleTarget, draft: CaptureRuleDraft) => void;
  onCancel: () => void;
}

export function CaptureRuleForm(props: Props) {
  const { title, fixedTarget, ruleId, initial, submitLabel, pending, error, onSubmit, onCancel } = props;
  const trpc = useTRPC();
  const titleId = useId();
  const plans = useQuery({ ...trpc.plans.list.queryOptions(), enabled: fixedTarget === null });
  const devices = useQuery({ ...trpc.devices.list.queryOptions(), enabled: fixedTarget === null });
  const [scope, setScope] = useState<"plan" | "device">(fixedTarget?.scope ?? "plan");
  const [targetId, setTargetId] = useState("");
  const [name, setName] = useState(initial.name);
  const [include, setInclude] = useState(formatPatterns(initial.include));
  const [exclude, setExclude] = useState(formatPatterns(initial.exclude));
  const [sampleRate, setSampleRate] = useState(String(initial.sampleRate));

  // The label is for display only: the preview and the API take the bare target (strict inputs).
  let target: RuleTarget | null = null;
  if (fixedTarget) {
    target =
      fixedTarget.scope === "plan"
        ? { scope: "plan", planId: fixedTarget.planId }
        : { scope: "device", deviceId: fixedTarget.deviceId };
  } else if (targetId) {
    target = scope === "plan" ? { scope, planId: targetId } : { scope, deviceId: targetId };
  }
  const includeList = parsePatterns(include);
  const excludeList = parsePatterns(exclude);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!target) return;
    onSubmit(target, {
      name: name.trim(),
      include: includeList,
      exclude: excludeList,
      sampleRate: Number(sampleRate),
    });
  };

  return (
    <form className="card form" onSubmit={submit} aria-labelledby={titleId}>
      <h2 id={titleId}>{title}</h2>
      <div className="form-grid">
        {fixedTarget ? (
          <p>
            Applies to {fixedTarget.scope} <strong>{fixedTarget.label}</strong>
          </p>
        ) : (
          <>
            <label>
              Applies to
              <select
                value={scope}
                onChange={(event) => {
                  setScope(event.target.value as "plan" | "device");
                  setTargetId("");
                }}
              >
                <option value="plan">a plan (all its devices)</option>
                <option value="device">one device (overrides its plan)</option>
              </select>
            </label>
            <label>
              {scope === "plan" ? "Plan" : "Device"}
              <select required value={targetId} onChange={(event) => setTargetId(event.target.value)}>
                <option value="">Choose…</option>
                {scope === "plan"
                  ? plans.data?.map((p) => (
                      <option key={p.id} value={p.id}>
                        {p.name}
                      </option>
                    ))
                  : devices.data?.map((d) => (
                      <option key={d.id} value={d.id}>
                        {d.name} ({d.planName})
                      </option>
                    ))}
              </select>
            </label>
          </>
        )}
        <label>
          Rule name
          <input required value={name} onChange={(event) => setName(event.target.value)} />
        </label>
        <label>
          Include interfaces
          <input
            required
            value={include}
            placeholder="eth0, cali*, tun*"
            onChange={(event) => setInclude(event.target.value)}
          />
        </label>
        <label>
          Exclude interfaces
          <input
            value={exclude}
            placeholder="lo, veth*"
            onChange={(event) => setExclude(event.target.value)}
          />
        </label>
        <label>
          Sample 1 packet in
          <input
            type="number"
            min={1}
            step={1}
            required
            value={sampleRate}
            onChange={(event) => setSampleRate(event.target.value)}
          />
        </label>
      </div>
      <p className="muted">
        Globs only: <code>*</code> any run, <code>?</code> one character, <code>[0-3]</code> a set. Separate
        patterns with commas.
      </p>
      <RulePreview target={target} include={includeList} exclude={excludeList} ruleId={ruleId} />
      <InlineError error={error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={pending || !target}>
          {pending ? "Saving…" : submitLabel}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
