"use client";

import { useState } from "react";
import { CountField, type EditFormProps, FormCard, SelectField, TextField } from "@/features/shell/Form";

export type ExportKind = "ipfix_udp" | "ipfix_tcp" | "nats";

export interface ExportTargetFields {
  name: string;
  kind: ExportKind;
  url: string;
  enabled: boolean;
  planId: string | null;
  enterpriseId: number | null;
}

export const emptyExportTarget: ExportTargetFields = {
  name: "",
  kind: "ipfix_udp",
  url: "ipfix://collector.example:4739",
  enabled: true,
  planId: null,
  enterpriseId: null,
};

export const kindLabels: Record<ExportKind, string> = {
  ipfix_udp: "IPFIX over UDP",
  ipfix_tcp: "IPFIX over TCP",
  nats: "NATS JetStream subject",
};

const urlExamples: Record<ExportKind, string> = {
  ipfix_udp: "ipfix://collector.example:4739",
  ipfix_tcp: "ipfix+tcp://collector.example:4739",
  nats: "nats://nats.example:4222/kernflow.flows",
};

interface ExportTargetFormProps extends EditFormProps<ExportTargetFields> {
  plans: readonly { id: string; name: string }[];
}

// The URL is checked against the kind by the API, whose message names the fault (scheme, host, port).
export function ExportTargetForm({ initial, plans, onSubmit, ...card }: ExportTargetFormProps) {
  const [name, setName] = useState(initial.name);
  const [kind, setKind] = useState<ExportKind>(initial.kind);
  const [url, setUrl] = useState(initial.url);
  const [enabled, setEnabled] = useState(initial.enabled);
  const [planId, setPlanId] = useState(initial.planId ?? "");
  const [enterpriseId, setEnterpriseId] = useState(
    initial.enterpriseId === null ? "" : String(initial.enterpriseId),
  );

  const changeKind = (next: ExportKind) => {
    // Keep what was typed unless it is still the previous kind's example.
    if (url === urlExamples[kind] || url === "") setUrl(urlExamples[next]);
    setKind(next);
  };

  const submit = () =>
    onSubmit({
      name: name.trim(),
      kind,
      url: url.trim(),
      enabled,
      planId: planId === "" ? null : planId,
      enterpriseId: enterpriseId.trim() === "" ? null : Number(enterpriseId),
    });

  return (
    <FormCard {...card} onSubmit={submit} pendingLabel="Saving…">
      <div className="form-grid">
        <TextField label="Target name" required value={name} onChange={setName} />
        <SelectField label="Kind" value={kind} onChange={(value) => changeKind(value as ExportKind)}>
          {(Object.keys(kindLabels) as ExportKind[]).map((k) => (
            <option key={k} value={k}>
              {kindLabels[k]}
            </option>
          ))}
        </SelectField>
        <TextField label="URL" required value={url} onChange={setUrl} />
        <SelectField label="Plan" value={planId} onChange={setPlanId}>
          <option value="">All plans</option>
          {plans.map((plan) => (
            <option key={plan.id} value={plan.id}>
              {plan.name}
            </option>
          ))}
        </SelectField>
        <CountField
          label="Private enterprise number"
          placeholder="default (placeholder 4294967040)"
          value={enterpriseId}
          onChange={setEnterpriseId}
        />
        <label className="checkbox">
          <input type="checkbox" checked={enabled} onChange={(event) => setEnabled(event.target.checked)} />
          Enabled
        </label>
      </div>
    </FormCard>
  );
}
