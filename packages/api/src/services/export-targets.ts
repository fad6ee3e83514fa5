import type { ExportKind } from "@kernflow/db";
import { announceConfigChange, type ConfigChange } from "../agent/config-bus";
import type { Db, Tx } from "../db";
import { isUniqueViolation } from "../db";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { createTargetExporter } from "../export/target-exporter";
import { parseTargetUrl } from "../export/target-url";
import { testFlowRecord } from "../export/test-record";
import { type Actor, writeAudit } from "./audit";

export interface ExportTargetView {
  id: string;
  name: string;
  kind: ExportKind;
  url: string;
  enabled: boolean;
  planId: string | null;
  planName: string | null;
  enterpriseId: number | null;
  recordsSent: number;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastSuccessAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ExportTargetFields {
  name: string;
  kind: ExportKind;
  url: string;
  enabled: boolean;
  /** null: every plan's records (and every agent). */
  planId: string | null;
  /** IPFIX private enterprise number of kernflow's fields; null: the exporter's default placeholder. */
  enterpriseId: number | null;
}

const withPlan = { plan: { select: { name: true } } } as const;

interface TargetRow extends Omit<ExportTargetView, "recordsSent" | "planName"> {
  recordsSent: bigint;
  plan: { name: string } | null;
}

function toView({ plan, recordsSent, ...row }: TargetRow): ExportTargetView {
  return { ...row, recordsSent: Number(recordsSent), planName: plan?.name ?? null };
}

export async function listExportTargets(db: Db): Promise<ExportTargetView[]> {
  const rows = await db.exportTarget.findMany({ include: withPlan, orderBy: { name: "asc" } });
  return rows.map(toView);
}

export async function getExportTarget(db: Db | Tx, id: string): Promise<ExportTargetView> {
  const row = await db.exportTarget.findUnique({ where: { id }, include: withPlan });
  if (!row) throw new NotFoundError("Export target", id);
  return toView(row);
}

export async function createExportTarget(
  db: Db,
  actor: Actor,
  fields: ExportTargetFields,
): Promise<ExportTargetView> {
  parseTargetUrl(fields.kind, fields.url);
  const view = await withNameConflict(fields.name, () =>
    db.$transaction(async (tx) => {
      await requirePlan(tx, fields.planId);
      const row = await tx.exportTarget.create({ data: fields, include: withPlan });
      await writeAudit(tx, actor, {
        action: "exportTargets.create",
        targetType: "export_target",
        targetId: row.id,
        details: { ...fields },
      });
      return toView(row);
    }),
  );
  announceConfigChange(changeFor(view.planId));
  return view;
}

export async function updateExportTarget(
  db: Db,
  actor: Actor,
  id: string,
  changes: Partial<ExportTargetFields>,
): Promise<ExportTargetView> {
  const { before, after } = await withNameConflict(changes.name, () =>
    db.$transaction(async (tx) => {
      const before = await getExportTarget(tx, id);
      // Kind and URL are checked together: changing either must leave a pair that makes sense.
      parseTargetUrl(changes.kind ?? before.kind, changes.url ?? before.url);
      if (changes.planId !== undefined) await requirePlan(tx, changes.planId);
      const row = await tx.exportTarget.update({ where: { id }, data: changes, include: withPlan });
      const after = toView(row);
      const changed: Record<string, { from: unknown; to: unknown }> = {};
      for (const key of Object.keys(changes) as (keyof ExportTargetFields)[]) {
        if (before[key] !== after[key]) changed[key] = { from: before[key], to: after[key] };
      }
      await writeAudit(tx, actor, {
        action: "exportTargets.update",
        targetType: "export_target",
        targetId: id,
        details: changed,
      });
      return { before, after };
    }),
  );
  announceConfigChange(changeFor(before.planId));
  if (after.planId !== before.planId) announceConfigChange(changeFor(after.planId));
  return after;
}

export async function deleteExportTarget(db: Db, actor: Actor, id: string): Promise<ExportTargetView> {
  const view = await db.$transaction(async (tx) => {
    const target = await getExportTarget(tx, id);
    await tx.exportTarget.delete({ where: { id } });
    await writeAudit(tx, actor, {
      action: "exportTargets.delete",
      targetType: "export_target",
      targetId: id,
      details: { name: target.name, kind: target.kind, url: target.url },
    });
    return target;
  });
  announceConfigChange(changeFor(view.planId));
  return view;
}

/** Counts records a collector accepted and notes when; clears nothing else, so the last error stays visible. */
export async function recordExportSuccess(
  db: Db,
  id: string,
  records: number,
  at = new Date(),
): Promise<void> {
  await db.exportTarget.updateMany({
    where: { id },
    data: { recordsSent: { increment: records }, lastSuccessAt: at },
  });
}

export async function recordExportFailure(
  db: Db,
  id: string,
  message: string,
  at = new Date(),
): Promise<void> {
  await db.exportTarget.updateMany({
    where: { id },
    data: { lastError: message.slice(0, 2000), lastErrorAt: at },
  });
}

/** A target without a plan concerns every device's config. */
function changeFor(planId: string | null): ConfigChange {
  return planId === null ? { all: true } : { planIds: [planId] };
}

async function requirePlan(tx: Tx, planId: string | null): Promise<void> {
  if (planId === null) return;
  const plan = await tx.plan.findUnique({ where: { id: planId }, select: { id: true } });
  if (!plan) throw new NotFoundError("Plan", planId);
}

async function withNameConflict<T>(name: string | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`An export target named "${name}" already exists`);
    throw error;
  }
}

export interface SendTestResult {
  ok: boolean;
  /** Why the collector did not take it; null when it did. */
  error: string | null;
  target: ExportTargetView;
}

/**
 * Really sends one IPFIX message (templates + one documentation-address record) to the target's collector
 * and records the outcome on the target, as the exporter does for real records. Over UDP, "ok" means the
 * datagram left and no ICMP refusal came back within a moment: UDP has no receipt.
 */
export async function sendExportTargetTest(db: Db, actor: Actor, id: string): Promise<SendTestResult> {
  const target = await getExportTarget(db, id);
  if (target.kind === "nats") {
    throw new InvalidInputError(
      "kind: sending a test record to a nats target is not available in this build",
    );
  }
  const exporter = createTargetExporter(target);
  let error: Error | null;
  try {
    const result = await exporter.send([testFlowRecord()]);
    error = result.error ?? (await exporter.confirm());
  } finally {
    await exporter.close();
  }
  const at = new Date();
  if (error === null) await recordExportSuccess(db, id, 1, at);
  else await recordExportFailure(db, id, `test record: ${error.message}`, at);
  await db.$transaction((tx) =>
    writeAudit(tx, actor, {
      action: "exportTargets.sendTest",
      targetType: "export_target",
      targetId: id,
      details: { ok: error === null, error: error?.message ?? null },
    }),
  );
  return { ok: error === null, error: error?.message ?? null, target: await getExportTarget(db, id) };
}
