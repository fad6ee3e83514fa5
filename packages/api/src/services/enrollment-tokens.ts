import type { Db } from "../db";
import { InvalidInputError, NotFoundError } from "../errors";
import { type Actor, writeAudit } from "./audit";
import { randomSecret, sha256Hex } from "./secrets";

export const ENROLLMENT_TOKEN_PREFIX = "kfe_";
// Like API tokens: the visible prefix identifies a token in lists without revealing it.
const VISIBLE_CHARS = 8;

export type EnrollmentTokenState = "active" | "expired" | "used_up" | "revoked";

export interface EnrollmentTokenView {
  id: string;
  name: string;
  prefix: string;
  planId: string;
  planName: string;
  deviceName: string | null;
  namePrefix: string | null;
  expiresAt: Date;
  maxUses: number;
  uses: number;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
  state: EnrollmentTokenState;
}

export interface EnrollmentTokenFields {
  name: string;
  planId: string;
  deviceName?: string | undefined;
  namePrefix?: string | undefined;
  expiresAt: Date;
  maxUses: number;
}

/** Commands an operator pastes on a host or a cluster; the secret appears in them, so only once. */
export interface EnrollmentCommands {
  host: string;
  kubernetesSecret: string;
  kustomizeFile: string;
}

const select = {
  id: true,
  name: true,
  prefix: true,
  planId: true,
  plan: { select: { name: true } },
  deviceName: true,
  namePrefix: true,
  expiresAt: true,
  maxUses: true,
  uses: true,
  lastUsedAt: true,
  revokedAt: true,
  createdAt: true,
} as const;

type Row = Omit<EnrollmentTokenView, "planName" | "state"> & { plan: { name: string } };

/** Why a token can no longer enroll anything, checked in this order (a revoked token says so first). */
export function enrollmentTokenState(
  token: Pick<EnrollmentTokenView, "revokedAt" | "expiresAt" | "uses" | "maxUses">,
  now = new Date(),
): EnrollmentTokenState {
  if (token.revokedAt) return "revoked";
  if (token.expiresAt.getTime() <= now.getTime()) return "expired";
  if (token.uses >= token.maxUses) return "used_up";
  return "active";
}

function toView({ plan, ...row }: Row): EnrollmentTokenView {
  return { ...row, planName: plan.name, state: enrollmentTokenState(row) };
}

export function hashEnrollmentToken(secret: string): string {
  return sha256Hex(secret);
}

export function enrollmentCommands(serverUrl: string, secret: string): EnrollmentCommands {
  return {
    host: `npx kernflow-agent enroll --server ${serverUrl} --token ${secret} && npx kernflow-agent run`,
    kubernetesSecret: `kubectl create secret generic kernflow-enrollment --from-literal=token=${secret} -n kernflow`,
    // deploy/kubernetes's kustomization reads the token from this file through a secretGenerator.
    kustomizeFile: `printf '%s' '${secret}' > deploy/kubernetes/enrollment-token.txt && kubectl apply -k deploy/kubernetes`,
  };
}

export async function listEnrollmentTokens(db: Db): Promise<EnrollmentTokenView[]> {
  const rows = await db.enrollmentToken.findMany({ select, orderBy: { createdAt: "desc" } });
  return rows.map(toView);
}

/** The secret is in the result only here; the database keeps just its SHA-256. */
export async function createEnrollmentToken(
  db: Db,
  actor: Actor,
  fields: EnrollmentTokenFields,
  serverUrl: string,
): Promise<{ token: EnrollmentTokenView; secret: string; commands: EnrollmentCommands }> {
  if (fields.deviceName && fields.namePrefix) {
    throw new InvalidInputError(
      "Give either a device name (one host) or a name prefix (many hosts), not both",
    );
  }
  if (fields.deviceName && fields.maxUses > 1) {
    // Device names are unique: a second host would take over the first one's device.
    throw new InvalidInputError("A token with a fixed device name can enroll only one host (maxUses 1)");
  }
  if (fields.expiresAt.getTime() <= Date.now())
    throw new InvalidInputError("expiresAt must be in the future");
  const secret = `${ENROLLMENT_TOKEN_PREFIX}${randomSecret()}`;
  const prefix = secret.slice(0, ENROLLMENT_TOKEN_PREFIX.length + VISIBLE_CHARS);
  const token = await db.$transaction(async (tx) => {
    const plan = await tx.plan.findUnique({ where: { id: fields.planId }, select: { id: true } });
    if (!plan) throw new NotFoundError("Plan", fields.planId);
    const row = await tx.enrollmentToken.create({
      data: {
        name: fields.name,
        prefix,
        tokenHash: hashEnrollmentToken(secret),
        planId: fields.planId,
        deviceName: fields.deviceName ?? null,
        namePrefix: fields.namePrefix ?? null,
        expiresAt: fields.expiresAt,
        maxUses: fields.maxUses,
        createdById: actor.userId,
      },
      select,
    });
    await writeAudit(tx, actor, {
      action: "enrollmentTokens.create",
      targetType: "enrollment_token",
      targetId: row.id,
      details: {
        name: fields.name,
        prefix,
        planId: fields.planId,
        deviceName: fields.deviceName ?? null,
        namePrefix: fields.namePrefix ?? null,
        expiresAt: fields.expiresAt.toISOString(),
        maxUses: fields.maxUses,
      },
    });
    return toView(row);
  });
  return { token, secret, commands: enrollmentCommands(serverUrl, secret) };
}

/** Takes effect at once: enrollment reads the row in its own transaction. */
export async function revokeEnrollmentToken(db: Db, actor: Actor, id: string): Promise<EnrollmentTokenView> {
  return db.$transaction(async (tx) => {
    const token = await tx.enrollmentToken.findUnique({ where: { id }, select });
    if (!token) throw new NotFoundError("Enrollment token", id);
    if (token.revokedAt) return toView(token);
    const revoked = await tx.enrollmentToken.update({
      where: { id },
      data: { revokedAt: new Date() },
      select,
    });
    await writeAudit(tx, actor, {
      action: "enrollmentTokens.revoke",
      targetType: "enrollment_token",
      targetId: id,
      details: { name: token.name, prefix: token.prefix },
    });
    return toView(revoked);
  });
}
