import { announceConfigChange } from "../agent/config-bus";
import type { Db, Tx } from "../db";
import { isUniqueViolation } from "../db";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { type Actor, writeAudit } from "./audit";
import { serializable } from "./transactions";

export interface PlanView {
  id: string;
  name: string;
  description: string;
  maxDevices: number;
  maxFlowsPerSecond: number;
  retentionDays: number;
  /** null = the console; else an aggregator (http(s)://) or NATS JetStream (nats://) URL. */
  flowDestination: string | null;
  deviceCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface PlanFields {
  name: string;
  description: string;
  maxDevices: number;
  maxFlowsPerSecond: number;
  retentionDays: number;
  flowDestination?: string | null;
}

const planWithCount = { _count: { select: { devices: true } } } as const;

type PlanRow = Omit<PlanView, "deviceCount"> & { _count: { devices: number } };

function toView({ _count, ...plan }: PlanRow): PlanView {
  return { ...plan, deviceCount: _count.devices };
}

export async function listPlans(db: Db): Promise<PlanView[]> {
  const rows = await db.plan.findMany({ include: planWithCount, orderBy: { name: "asc" } });
  return rows.map(toView);
}

export async function getPlan(db: Db | Tx, id: string): Promise<PlanView> {
  const row = await db.plan.findUnique({ where: { id }, include: planWithCount });
  if (!row) throw new NotFoundError("Plan", id);
  return toView(row);
}

export async function createPlan(db: Db, actor: Actor, fields: PlanFields): Promise<PlanView> {
  return withNameConflict(fields.name, () =>
    db.$transaction(async (tx) => {
      const row = await tx.plan.create({ data: fields, include: planWithCount });
      await writeAudit(tx, actor, {
        action: "plans.create",
        targetType: "plan",
        targetId: row.id,
        details: { ...fields },
      });
      return toView(row);
    }),
  );
}

export async function updatePlan(
  db: Db,
  actor: Actor,
  id: string,
  changes: Partial<PlanFields>,
): Promise<PlanView> {
  return withNameConflict(changes.name, () =>
    // Serializable: a device enrolling concurrently must not slip in between the count and the new limit.
    serializable(db, async (tx) => {
      const before = await getPlan(tx, id);
      if (changes.maxDevices !== undefined && changes.maxDevices < before.deviceCount) {
        throw new InvalidInputError(
          `maxDevices (${changes.maxDevices}) cannot be below the ${before.deviceCount} devices already on plan "${before.name}"`,
        );
      }
      const row = await tx.plan.update({ where: { id }, data: changes, include: planWithCount });
      const after = toView(row);
      const changed: Record<string, { from: unknown; to: unknown }> = {};
      for (const key of Object.keys(changes) as (keyof PlanFields)[]) {
        if (before[key] !== after[key]) changed[key] = { from: before[key], to: after[key] };
      }
      await writeAudit(tx, actor, {
        action: "plans.update",
        targetType: "plan",
        targetId: id,
        details: changed,
      });
      return after;
    }),
  ).then((after) => {
    // After the commit: the plan's agents are woken with a config that sends their flows elsewhere.
    if (changes.flowDestination !== undefined) announceConfigChange({ planIds: [id] });
    return after;
  });
}

export async function deletePlan(db: Db, actor: Actor, id: string): Promise<PlanView> {
  return serializable(db, async (tx) => {
    const plan = await getPlan(tx, id);
    if (plan.deviceCount > 0) {
      throw new ConflictError(
        `Plan "${plan.name}" still has ${plan.deviceCount} device(s); move or remove them before deleting it`,
      );
    }
    await tx.plan.delete({ where: { id } });
    await writeAudit(tx, actor, {
      action: "plans.delete",
      targetType: "plan",
      targetId: id,
      details: { name: plan.name },
    });
    return plan;
  });
}

async function withNameConflict<T>(name: string | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`A plan named "${name}" already exists`);
    throw error;
  }
}
