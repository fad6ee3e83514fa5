import type { EnrollRequest, EnrollResponse } from "@kernflow/protocol";
import type { Db, Tx } from "../db";
import { isUniqueViolation } from "../db";
import { ConflictError, ForbiddenError } from "../errors";
import { writeAudit } from "../services/audit";
import { enrollmentTokenState, hashEnrollmentToken } from "../services/enrollment-tokens";
import { serializable } from "../services/transactions";
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

/**
 * Exchanges an enrollment token for a device credential. Serializable, so two hosts enrolling at once
 * cannot both take the last place in a plan or the last use of a token.
 */
export async function enrollAgent(
  db: Db,
  request: EnrollRequest,
  ip: string | null,
): Promise<EnrollResponse> {
  const { host } = request;
  const { credential, hash } = generateAgentCredential();
  try {
    return await serializable(db, async (tx) => {
      const now = new Date();
      const token = await tx.enrollmentToken.findUnique({
        where: { tokenHash: hashEnrollmentToken(request.token) },
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
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new ConflictError(
        "Another enrollment of this machine or device name happened at the same time; retry",
      );
    }
    throw error;
  }
}
