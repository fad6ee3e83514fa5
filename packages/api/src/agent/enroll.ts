import type { EnrollRequest, EnrollResponse } from "@kernflow/protocol";
import type { Db, Tx } from "../db";
import { isSerializationFailure, isUniqueViolation } from "../db";
import { ConflictError, ForbiddenError } from "../errors";
import { writeAudit } from "../services/audit";
import { enrollmentTokenState, hashEnrollmentToken } from "../services/enrollment-tokens";
import { generateAgentCredential } from "./credentials";

interface TokenRow {
  id: string;
  name: string;
  planId: string;
  deviceName: string | null;
  namePrefix: string | null;
  expiresAt: Date;
  maxUses: number;
  uses: number;
  revokedAt: Date | null;
}

/** Refuses a token that cannot enroll, saying which rule refused it (403). */
function checkToken(token: TokenRow | null, now: Date): asserts token is TokenRow {
  if (!token) throw new ForbiddenError("Enrollment token is unknown");
  switch (enrollmentTokenState(token, now)) {
    case "revoked":
      throw new ForbiddenError(`Enrollment token "${token.name}" was revoked`);
    case "expired":
      throw new ForbiddenError(
        `Enrollment token "${token.name}" expired at ${token.expiresAt.toISOString()}`,
      );
    case "used_up":
      throw new ForbiddenError(
        `Enrollment token "${token.name}" has been used ${token.uses} of ${token.maxUses} times`,
      );
    case "active":
      return;
  }
}

async function assertPlanHasRoom(tx: Tx, planId: string): Promise<{ id: string; name: string }> {
  const plan = await tx.plan.findUniqueOrThrow({
    where: { id: planId },
    select: { id: true, name: true, maxDevices: true, _count: { select: { devices: true } } },
  });
  if (plan._count.devices >= plan.maxDevices) {
    throw new ConflictError(
      `plan ${plan.name} is full (${plan._count.devices} of ${plan.maxDevices} devices)`,
    );
  }
  return plan;
}

/** A name not yet taken: the wanted one, else the wanted one with a piece of the machine id. */
async function freeDeviceName(tx: Tx, wanted: string, machineId: string): Promise<string> {
  const taken = await tx.device.findUnique({ where: { name: wanted }, select: { id: true } });
  if (!taken) return wanted;
  // Hosts cloned from one image often share a hostname; the machine id tells them apart.
  return `${wanted}-${machineId.slice(0, 8)}`;
}

const ENROLL_ATTEMPTS = 12;

/**
 * Serializable, so two hosts enrolling at once cannot both take the last place in a plan or the last use
 * of a token. A whole fleet enrolls with one token at the same moment (a DaemonSet rolling out), so the
 * losers of a conflict retry more often than services/transactions.ts allows, after a random pause that
 * spreads them out; a unique clash (two hosts picking one free name) is retried too, as the name is
 * chosen again inside the transaction.
 */
async function serializableWithRetries<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction(work, { isolationLevel: "Serializable" });
    } catch (error) {
      const retriable = isSerializationFailure(error) || isUniqueViolation(error);
      if (!retriable || attempt >= ENROLL_ATTEMPTS) throw error;
      const pauseMs = Math.random() * Math.min(200, 5 * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

// Enrollments with one token (a fleet rolling out) are run one after another in this process: run side by
// side they would all read the same device count and token uses, and all but one would be aborted.
const enrollmentsByToken = new Map<string, Promise<unknown>>();

async function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = enrollmentsByToken.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(work);
  enrollmentsByToken.set(key, run);
  try {
    return await run;
  } finally {
    if (enrollmentsByToken.get(key) === run) enrollmentsByToken.delete(key);
  }
}

/** Exchanges an enrollment token for a device credential (see {@link serializableWithRetries}). */
export async function enrollAgent(
  db: Db,
  request: EnrollRequest,
  ip: string | null,
): Promise<EnrollResponse> {
  const { host } = request;
  const { credential, hash } = generateAgentCredential();
  try {
    const tokenHash = hashEnrollmentToken(request.token);
    return await oneAtATime(tokenHash, () =>
      serializableWithRetries(db, async (tx) => {
        const now = new Date();
        const token = await tx.enrollmentToken.findUnique({
          where: { tokenHash },
        });
        checkToken(token, now);
        const facts = {
          hostname: host.hostname,
          kernelRelease: host.kernel_release,
          os: host.os,
          agentVersion: host.agent_version,
          credentialHash: hash,
          enrollmentTokenId: token.id,
        };
        const existing = await tx.device.findUnique({
          where: { machineId: host.machine_id },
          select: { id: true, planId: true },
        });
        let deviceId: string;
        let reenrolled = false;
        if (existing) {
          // Same machine: keep its device (and history); the old credential is replaced and stops working.
          if (existing.planId !== token.planId) await assertPlanHasRoom(tx, token.planId);
          await tx.device.update({ where: { id: existing.id }, data: { ...facts, planId: token.planId } });
          deviceId = existing.id;
          reenrolled = true;
        } else {
          await assertPlanHasRoom(tx, token.planId);
          const wanted = token.deviceName ?? `${token.namePrefix ?? ""}${host.hostname}`;
          const created = await tx.device.create({
            data: {
              ...facts,
              name: await freeDeviceName(tx, wanted, host.machine_id),
              planId: token.planId,
              machineId: host.machine_id,
            },
            select: { id: true },
          });
          deviceId = created.id;
        }
        await tx.enrollmentToken.update({
          where: { id: token.id },
          data: { uses: { increment: 1 }, lastUsedAt: now },
        });
        const device = await tx.device.findUniqueOrThrow({
          where: { id: deviceId },
          select: { id: true, name: true, planId: true, plan: { select: { name: true } } },
        });
        await writeAudit(
          tx,
          { userId: null, label: `agent ${host.hostname}`, ip },
          {
            action: reenrolled ? "devices.reenroll" : "devices.enroll",
            targetType: "device",
            targetId: device.id,
            details: {
              name: device.name,
              machineId: host.machine_id,
              enrollmentTokenId: token.id,
              enrollmentToken: token.name,
              planId: device.planId,
            },
          },
        );
        return {
          device: { id: device.id, name: device.name, plan_id: device.planId, plan_name: device.plan.name },
          credential,
        };
      }),
    );
  } catch (error) {
    if (isUniqueViolation(error) || isSerializationFailure(error)) {
      throw new ConflictError("Too many enrollments of this plan or machine at the same moment; retry");
    }
    throw error;
  }
}
