import { agentStatusSchema, matchesInterface } from "@kernflow/protocol";
import { announceConfigChange } from "../agent/config-bus";
import type { Db, Tx } from "../db";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { type Actor, writeAudit } from "./audit";
import { serializable } from "./transactions";

/**
 * What a device captures when no rule names it or its plan: every interface except loopback. Loopback
 * traffic never leaves the host, and counting it would double every local conversation.
 */
export const DEFAULT_CAPTURE_RULE = { include: ["*"], exclude: ["lo"], sampleRate: 1 } as const;

export interface EffectiveCaptureRule {
  include: string[];
  exclude: string[];
  sampleRate: number;
  source: "device" | "plan" | "default";
  ruleId: string | null;
}

/** The rule a device runs: its own device rule if it has one, else its plan's rule, else the default. */
export async function effectiveCaptureRule(db: Db | Tx, deviceId: string): Promise<EffectiveCaptureRule> {
  const device = await db.device.findUnique({ where: { id: deviceId }, select: { id: true, planId: true } });
  if (!device) throw new NotFoundError("Device", deviceId);
  const rules = await db.captureRule.findMany({
    where: {
      OR: [
        { scope: "device", deviceId: device.id },
        { scope: "plan", planId: device.planId },
      ],
    },
    orderBy: { createdAt: "asc" },
  });
  const own = rules.find((r) => r.scope === "device");
  const plan = rules.find((r) => r.scope === "plan");
  const rule = own ?? plan;
  if (!rule) {
    return {
      include: [...DEFAULT_CAPTURE_RULE.include],
      exclude: [...DEFAULT_CAPTURE_RULE.exclude],
      sampleRate: DEFAULT_CAPTURE_RULE.sampleRate,
      source: "default",
      ruleId: null,
    };
  }
  return {
    include: rule.include,
    exclude: rule.exclude,
    sampleRate: rule.sampleRate,
    source: own ? "device" : "plan",
    ruleId: rule.id,
  };
}

/** A rule applies to one plan (all its devices without a rule of their own) or to one device. */
export type RuleTarget = { scope: "plan"; planId: string } | { scope: "device"; deviceId: string };

export interface CaptureRuleView {
  id: string;
  name: string;
  scope: "plan" | "device";
  planId: string | null;
  planName: string | null;
  deviceId: string | null;
  deviceName: string | null;
  include: string[];
  exclude: string[];
  sampleRate: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface CaptureRuleFields {
  name: string;
  include: string[];
  exclude: string[];
  sampleRate: number;
}

const withNames = { plan: { select: { name: true } }, device: { select: { name: true } } } as const;

type RuleRow = Omit<CaptureRuleView, "planName" | "deviceName"> & {
  plan: { name: string } | null;
  device: { name: string } | null;
};

function toView({ plan, device, ...row }: RuleRow): CaptureRuleView {
  return { ...row, planName: plan?.name ?? null, deviceName: device?.name ?? null };
}

export async function listCaptureRules(
  db: Db | Tx,
  filter: { planId?: string | undefined; deviceId?: string | undefined } = {},
): Promise<CaptureRuleView[]> {
  const rows = await db.captureRule.findMany({
    where: { planId: filter.planId, deviceId: filter.deviceId },
    include: withNames,
    orderBy: [{ scope: "asc" }, { name: "asc" }],
  });
  return rows.map(toView);
}

export async function getCaptureRule(db: Db | Tx, id: string): Promise<CaptureRuleView> {
  const row = await db.captureRule.findUnique({ where: { id }, include: withNames });
  if (!row) throw new NotFoundError("Capture rule", id);
  return toView(row);
}

/** Which agents to wake after a change to a rule on this target (a plan rule reaches its devices). */
function announceTarget(rule: { planId: string | null; deviceId: string | null }): void {
  if (rule.planId) announceConfigChange({ planIds: [rule.planId] });
  if (rule.deviceId) announceConfigChange({ deviceIds: [rule.deviceId] });
}

export async function createCaptureRule(
  db: Db,
  actor: Actor,
  target: RuleTarget,
  fields: CaptureRuleFields,
): Promise<CaptureRuleView> {
  // Serializable: one rule per plan or device (the one a device runs must be unambiguous), checked then
  // inserted without a concurrent create slipping in between.
  const view = await serializable(db, async (tx) => {
    let targetName: string;
    if (target.scope === "plan") {
      const plan = await tx.plan.findUnique({ where: { id: target.planId }, select: { name: true } });
      if (!plan) throw new NotFoundError("Plan", target.planId);
      targetName = `plan "${plan.name}"`;
    } else {
      const device = await tx.device.findUnique({ where: { id: target.deviceId }, select: { name: true } });
      if (!device) throw new NotFoundError("Device", target.deviceId);
      targetName = `device "${device.name}"`;
    }
    const where =
      target.scope === "plan"
        ? { scope: "plan" as const, planId: target.planId }
        : { scope: "device" as const, deviceId: target.deviceId };
    const existing = await tx.captureRule.findFirst({ where, select: { id: true, name: true } });
    if (existing) {
      throw new ConflictError(
        `${targetName} already has capture rule "${existing.name}" (${existing.id}); edit it`,
      );
    }
    const row = await tx.captureRule.create({
      data: {
        ...fields,
        scope: target.scope,
        planId: target.scope === "plan" ? target.planId : null,
        deviceId: target.scope === "device" ? target.deviceId : null,
      },
      include: withNames,
    });
    await writeAudit(tx, actor, {
      action: "capture_rules.create",
      targetType: "capture_rule",
      targetId: row.id,
      details: { ...target, ...fields },
    });
    return toView(row);
  });
  announceTarget(view);
  return view;
}

export async function updateCaptureRule(
  db: Db,
  actor: Actor,
  id: string,
  changes: Partial<CaptureRuleFields>,
): Promise<CaptureRuleView> {
  const view = await db.$transaction(async (tx) => {
    const before = await getCaptureRule(tx, id);
    const row = await tx.captureRule.update({ where: { id }, data: changes, include: withNames });
    const after = toView(row);
    const changed: Record<string, { from: unknown; to: unknown }> = {};
    for (const key of Object.keys(changes) as (keyof CaptureRuleFields)[]) {
      if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
        changed[key] = { from: before[key], to: after[key] };
      }
    }
    await writeAudit(tx, actor, {
      action: "capture_rules.update",
      targetType: "capture_rule",
      targetId: id,
      details: { name: after.name, changed },
    });
    return after;
  });
  announceTarget(view);
  return view;
}

export async function deleteCaptureRule(db: Db, actor: Actor, id: string): Promise<CaptureRuleView> {
  const view = await db.$transaction(async (tx) => {
    const view = await getCaptureRule(tx, id);
    await tx.captureRule.delete({ where: { id } });
    await writeAudit(tx, actor, {
      action: "capture_rules.delete",
      targetType: "capture_rule",
      targetId: id,
      details: { name: view.name, scope: view.scope, include: view.include, exclude: view.exclude },
    });
    return view;
  });
  announceTarget(view);
  return view;
}

export interface DevicePreview {
  deviceId: string;
  deviceName: string;
  /** Interfaces from the device's last status report; null when it has never reported. */
  interfacesSeen: string[] | null;
  matched: string[];
  /** Set when previewing a plan rule for a device that runs its own device rule instead. */
  overriddenBy: string | null;
  summary: string;
}

export type PreviewRequest =
  | { id: string }
  | (RuleTarget & { include: string[]; exclude: string[]; ruleId?: string | undefined });

function interfacesOf(statusReport: unknown): string[] | null {
  const seen = agentStatusSchema.shape.interfaces_seen.safeParse(
    typeof statusReport === "object" && statusReport !== null
      ? (statusReport as Record<string, unknown>).interfaces_seen
      : undefined,
  );
  return seen.success ? seen.data : null;
}

/**
 * For a saved rule or a draft, per device in its scope, which of the device's reported interfaces the
 * globs select: "matches eth0, cali12ab on node-a". The matcher is the agent's own (from protocol), so
 * the preview says exactly what the agent will attach to.
 */
export async function previewCaptureRule(db: Db | Tx, request: PreviewRequest): Promise<DevicePreview[]> {
  let rule: RuleTarget & { include: string[]; exclude: string[]; ruleId: string | null };
  if ("id" in request) {
    const saved = await getCaptureRule(db, request.id);
    const target: RuleTarget =
      saved.scope === "plan"
        ? { scope: "plan", planId: saved.planId as string }
        : { scope: "device", deviceId: saved.deviceId as string };
    rule = { ...target, include: saved.include, exclude: saved.exclude, ruleId: saved.id };
  } else {
    rule = { ...request, ruleId: request.ruleId ?? null };
  }
  if (rule.include.length === 0) throw new InvalidInputError("include: at least one pattern is needed");
  const devices = await db.device.findMany({
    where: rule.scope === "plan" ? { planId: rule.planId } : { id: rule.deviceId },
    select: {
      id: true,
      name: true,
      statusReport: true,
      captureRules: { where: { scope: "device" }, select: { id: true, name: true } },
    },
    orderBy: { name: "asc" },
  });
  if (rule.scope === "device" && devices.length === 0) throw new NotFoundError("Device", rule.deviceId);
  return devices.map((device) => {
    const seen = interfacesOf(device.statusReport);
    const matched = (seen ?? []).filter((name) => matchesInterface(name, rule.include, rule.exclude));
    const own = device.captureRules[0];
    const overriddenBy = rule.scope === "plan" && own && own.id !== rule.ruleId ? own.name : null;
    let summary: string;
    if (seen === null) summary = `${device.name} has not reported its interfaces yet`;
    else if (matched.length === 0) summary = `matches no interface on ${device.name}`;
    else summary = `matches ${matched.join(", ")} on ${device.name}`;
    if (overriddenBy) summary += ` (but ${device.name} runs its own rule "${overriddenBy}")`;
    return {
      deviceId: device.id,
      deviceName: device.name,
      interfacesSeen: seen,
      matched,
      overriddenBy,
      summary,
    };
  });
}
