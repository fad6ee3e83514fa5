"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { CountField, type EditFormProps, FormCard, SelectField, TextField } from "@/features/shell/Form";
import { useTRPC } from "@/trpc/client";
import { formatPatterns, parsePatterns } from "./patterns";
import { RulePreview, type RuleTarget } from "./RulePreview";

export interface CaptureRuleDraft {
  name: string;
  include: string[];
  exclude: string[];
  sampleRate: number;
}

interface Props extends Omit<EditFormProps<CaptureRuleDraft>, "onSubmit"> {
  /** Set when editing: a rule's target cannot change, only its globs, name and sampling. */
  fixedTarget: (RuleTarget & { label: string }) | null;
  ruleId?: string | undefined;
  onSubmit: (target: RuleTarget, draft: CaptureRuleDraft) => void;
}

export function CaptureRuleForm({ fixedTarget, ruleId, initial, onSubmit, ...card }: Props) {
  const trpc = useTRPC();
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

  const submit = () => {
    if (!target) return;
    onSubmit(target, {
      name: name.trim(),
      include: includeList,
      exclude: excludeList,
      sampleRate: Number(sampleRate),
    });
  };

  return (
    <FormCard {...card} onSubmit={submit} pendingLabel="Saving…" submitDisabled={!target}>
      <div className="form-grid">
        {fixedTarget ? (
          <p>
            Applies to {fixedTarget.scope} <strong>{fixedTarget.label}</strong>
          </p>
        ) : (
          <>
            <SelectField
              label="Applies to"
              value={scope}
              onChange={(value) => {
                setScope(value as "plan" | "device");
                setTargetId("");
              }}
            >
              <option value="plan">a plan (all its devices)</option>
              <option value="device">one device (overrides its plan)</option>
            </SelectField>
            <SelectField
              label={scope === "plan" ? "Plan" : "Device"}
              required
              value={targetId}
              onChange={setTargetId}
            >
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
            </SelectField>
          </>
        )}
        <TextField label="Rule name" required value={name} onChange={setName} />
        <TextField
          label="Include interfaces"
          required
          value={include}
          placeholder="eth0, cali*, tun*"
          onChange={setInclude}
        />
        <TextField label="Exclude interfaces" value={exclude} placeholder="lo, veth*" onChange={setExclude} />
        <CountField label="Sample 1 packet in" required value={sampleRate} onChange={setSampleRate} />
      </div>
      <p className="muted">
        Globs only: <code>*</code> any run, <code>?</code> one character, <code>[0-3]</code> a set. Separate
        patterns with commas.
      </p>
      <RulePreview target={target} include={includeList} exclude={excludeList} ruleId={ruleId} />
    </FormCard>
  );
}
