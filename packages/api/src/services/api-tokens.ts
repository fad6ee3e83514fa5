import type { Db } from "../db";
import { isUniqueViolation } from "../db";
import { ConflictError, NotFoundError } from "../errors";
import { type Actor, writeAudit } from "./audit";
import { generateApiToken } from "./secrets";

export interface ApiTokenView {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const tokenView = {
  id: true,
  name: true,
  prefix: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const;

export function listApiTokens(db: Db, userId: string): Promise<ApiTokenView[]> {
  return db.apiToken.findMany({ where: { userId }, select: tokenView, orderBy: { createdAt: "desc" } });
}

/** The secret is in the result only here; the database keeps just its SHA-256. */
export async function createApiToken(
  db: Db,
  actor: Actor & { userId: string },
  name: string,
): Promise<{ token: ApiTokenView; secret: string }> {
  const { secret, prefix, hash } = generateApiToken();
  try {
    const token = await db.$transaction(async (tx) => {
      const token = await tx.apiToken.create({
        data: { name, prefix, tokenHash: hash, userId: actor.userId },
        select: tokenView,
      });
      await writeAudit(tx, actor, {
        action: "apiTokens.create",
        targetType: "api_token",
        targetId: token.id,
        details: { name, prefix },
      });
      return token;
    });
    return { token, secret };
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`You already have an API token named "${name}"`);
    throw error;
  }
}

export async function revokeApiToken(
  db: Db,
  actor: Actor & { userId: string },
  id: string,
): Promise<ApiTokenView> {
  return db.$transaction(async (tx) => {
    // Someone else's token is reported as missing, not forbidden, so ids cannot be probed.
    const token = await tx.apiToken.findFirst({ where: { id, userId: actor.userId }, select: tokenView });
    if (!token) throw new NotFoundError("API token", id);
    if (token.revokedAt) return token;
    const revoked = await tx.apiToken.update({
      where: { id },
      data: { revokedAt: new Date() },
      select: tokenView,
    });
    await writeAudit(tx, actor, {
      action: "apiTokens.revoke",
      targetType: "api_token",
      targetId: id,
      details: { name: token.name, prefix: token.prefix },
    });
    return revoked;
  });
}
