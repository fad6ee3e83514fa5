import { type AgentError, agentStatusSchema, matchesInterface } from "@kernflow/protocol";
import { announceConfigChange } from "../agent/config-bus";
import type { Db, Tx } from "../db";
import { isUniqueViolation } from "../db";
import { ConflictError, NotFoundError } from "../errors";
import { type Actor, writeAudit } from "./audit";
import { effectiveCaptureRule } from "./capture-rules";
import { serializable } from "./transactions";

/** Agents check in at least every 30 s (the longest long-poll); two missed check-ins plus slack = offline. */
export const CHECK_IN_INTERVAL_MS = 30_000;
export const ONLINE_WINDOW_MS = 2 * CHECK_IN_INTERVAL_MS + 15_000;

export type DeviceStatusValue = "pending" | "online" | "offline" | "degraded";

export interface DeviceView {
  id: string;
  name: string;
  planId: string;
  planName: string;
  status: DeviceStatusValue;
  machineId: string | null;
  hostname: string | null;
  os: string | null;
  kernelRelease: string | null;
  agentVersion: string | null;
  lastSeenAt: Date | null;
  createdAt: Date;
  configHashApplied: string | null;
  bytecode: { id: string; name: string; sha256: string } | null;
  health: "starting" | "ok" | "degraded" | null;
  captureRule: { include: string[]; exclude: string[]; source: "device" | "plan" | "default" };
  interfacesSeen: string[];
  interfacesAttached: string[];
  /** The interfaces seen that the effective capture rule selects: what should be attached. */
  interfacesMatched: string[];
  flowsPerSecond: number | null;
  mapOverflow: number | null;
  recordsSpooled: number | null;
  errors: AgentError[];
}

/**
 * pending: never checked in; offline: no check-in within {@link ONLINE_WINDOW_MS}; degraded: online but
 * the agent reports degraded health or current errors; online otherwise.
 */
export function deviceStatus(
  lastSeenAt: Date | null,
  report: { health: string; errors: unknown[] } | null,
  now = new Date(),
): DeviceStatusValue {
  if (!lastSeenAt) return "pending";
  if (now.getTime() - lastSeenAt.getTime() > ONLINE_WINDOW_MS) return "offline";
  if (report && (report.health === "degraded" || report.errors.length > 0)) return "degraded";
  return "online";
}

const select = {
  id: true,
  name: true,
  planId: true,
  plan: { select: { name: true } },
  machineId: true,
  hostname: true,
  os: true,
  kernelRelease: true,
  agentVersion: true,
  lastSeenAt: true,
  createdAt: true,
  configHashApplied: true,
  statusReport: true,
  bytecode: { select: { id: true, name: true, sha256: true } },
} as const;

async function toView(db: Db | Tx, row: Awaited<ReturnType<typeof findRow>> & object): Promise<DeviceView> {
  const { plan, statusReport, ...fields } = row;
  // The report was validated when it arrived; an older shape simply shows as "no report".
  const parsed = agentStatusSchema.safeParse(statusReport);
  const report = parsed.success ? parsed.data : null;
  const rule = await effectiveCaptureRule(db, row.id);
  const seen = report?.interfaces_seen ?? [];
  return {
    ...fields,
    planName: plan.name,
    status: deviceStatus(row.lastSeenAt, report),
    health: report?.health ?? null,
    captureRule: { include: rule.include, exclude: rule.exclude, source: rule.source },
    interfacesSeen: seen,
    interfacesAttached: report?.interfaces_attached ?? [],
    interfacesMatched: seen.filter((name) => matchesInterface(name, rule.include, rule.exclude)),
    flowsPerSecond: report?.flows_per_second ?? null,
    mapOverflow: report?.map_overflow ?? null,
    recordsSpooled: report?.records_spooled ?? null,
    errors: report?.errors ?? [],
  };
}

function findRow(db: Db | Tx, id: string) {
  return db.device.findUnique({ where: { id }, select });
}

export async function listDevices(
  db: Db,
  filter: { planId?: string | undefined } = {},
): Promise<DeviceView[]> {
  const rows = await db.device.findMany({
    where: filter.planId ? { planId: filter.planId } : {},
    select,
    orderBy: { name: "asc" },
  });
  return Promise.all(rows.map((row) => toView(db, row)));
}

export async function getDevice(db: Db | Tx, id: string): Promise<DeviceView> {
  const row = await findRow(db, id);
  if (!row) throw new NotFoundError("Device", id);
  return toView(db, row);
}

export async function renameDevice(db: Db, actor: Actor, id: string, name: string): Promise<DeviceView> {
  try {
    await db.$transaction(async (tx) => {
      const before = await tx.device.findUnique({ where: { id }, select: { name: true } });
      if (!before) throw new NotFoundError("Device", id);
      if (before.name === name) return;
      await tx.device.update({ where: { id }, data: { name } });
      await writeAudit(tx, actor, {
        action: "devices.rename",
        targetType: "device",
        targetId: id,
        details: { name: { from: before.name, to: name } },
      });
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`A device named "${name}" already exists`);
    throw error;
  }
  return getDevice(db, id);
}

/** Moves a device to another plan if that plan has room; its agent gets the new plan's config at once. */
export async function moveDevice(db: Db, actor: Actor, id: string, planId: string): Promise<DeviceView> {
  const moved = await serializable(db, async (tx) => {
    const device = await tx.device.findUnique({
      where: { id },
      select: { name: true, planId: true, plan: { select: { name: true } } },
    });
    if (!device) throw new NotFoundError("Device", id);
    if (device.planId === planId) return null;
    const plan = await tx.plan.findUnique({
      where: { id: planId },
      select: { name: true, maxDevices: true, _count: { select: { devices: true } } },
    });
    if (!plan) throw new NotFoundError("Plan", planId);
    if (plan._count.devices >= plan.maxDevices) {
      throw new ConflictError(
        `plan ${plan.name} is full (${plan._count.devices} of ${plan.maxDevices} devices)`,
      );
    }
    await tx.device.update({ where: { id }, data: { planId } });
    await writeAudit(tx, actor, {
      action: "devices.move",
      targetType: "device",
      targetId: id,
      details: {
        name: device.name,
        plan: { from: { id: device.planId, name: device.plan.name }, to: { id: planId, name: plan.name } },
      },
    });
    return device.planId;
  });
  if (moved !== null) announceConfigChange({ deviceIds: [id] });
  return getDevice(db, id);
}

/** Unenrolls: the row and its credential hash go, so the agent's next request is refused (401). */
export async function deleteDevice(db: Db, actor: Actor, id: string): Promise<DeviceView> {
  const view = await getDevice(db, id);
  await db.$transaction(async (tx) => {
    const { count } = await tx.device.deleteMany({ where: { id } });
    if (count === 0) throw new NotFoundError("Device", id);
    await writeAudit(tx, actor, {
      action: "devices.delete",
      targetType: "device",
      targetId: id,
      details: { name: view.name, machineId: view.machineId, planId: view.planId },
    });
  });
  // A check-in of this device that is waiting now answers (with 401) instead of at its timeout.
  announceConfigChange({ deviceIds: [id] });
  return view;
}
