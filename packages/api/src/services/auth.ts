import type { Role } from "@kernflow/db";
import type { Db } from "../db";
import { AuthenticationError, RateLimitedError } from "../errors";
import { type Actor, writeAudit } from "./audit";
import { burnPasswordCheck, verifyPassword } from "./passwords";
import type { FixedWindowRateLimiter } from "./rate-limit";
import { randomSecret, sha256Hex } from "./secrets";

export const SESSION_TTL_MS = 24 * 60 * 60 * 1000;
export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MS = 15 * 60 * 1000;
// Only refresh lastSeenAt this often, so that a busy browser does not turn every read into a write.
const LAST_SEEN_RESOLUTION_MS = 60 * 1000;

export interface AuthenticatedUser {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export type Authentication =
  | { kind: "session"; user: AuthenticatedUser; sessionId: string; csrfToken: string; expiresAt: Date }
  | { kind: "api_token"; user: AuthenticatedUser; tokenId: string };

const userFields = { id: true, email: true, name: true, role: true } as const;

export interface LoginAttempt {
  email: string;
  password: string;
  ip: string | null;
  userAgent: string | null;
}

export interface LoginResult {
  user: AuthenticatedUser;
  sessionToken: string;
  csrfToken: string;
  expiresAt: Date;
}

const INVALID_CREDENTIALS = "Invalid email or password";

export async function login(
  db: Db,
  attempt: LoginAttempt,
  ipLimiter: FixedWindowRateLimiter,
  now = new Date(),
): Promise<LoginResult> {
  // Without a known address there is nothing fair to count against: one shared "unknown" bucket would let a
  // single guesser lock everybody out. The per-account lockout below still applies.
  const ipRetryAt = attempt.ip === null ? null : ipLimiter.hit(attempt.ip);
  if (ipRetryAt) {
    throw new RateLimitedError(
      `Too many login attempts from this address; retry after ${ipRetryAt.toISOString()}`,
      ipRetryAt,
    );
  }

  const user = await db.user.findUnique({ where: { email: attempt.email } });
  if (!user) {
    await burnPasswordCheck(attempt.password);
    throw new AuthenticationError(INVALID_CREDENTIALS);
  }
  if (user.lockedUntil && user.lockedUntil > now) throw lockedError(user.lockedUntil);

  const actor: Actor = { userId: user.id, label: user.email, ip: attempt.ip };
  if (!(await verifyPassword(attempt.password, user.passwordHash))) {
    // The increment happens in the database so that parallel guesses (or several console processes) cannot
    // each read the same count and skip the lockout.
    const lockedUntil = await db.$transaction(async (tx) => {
      const updated = await tx.user.update({
        where: { id: user.id },
        data: { failedLogins: { increment: 1 } },
        select: { failedLogins: true },
      });
      if (updated.failedLogins < MAX_FAILED_LOGINS) return null;
      const until = new Date(now.getTime() + LOCKOUT_MS);
      await tx.user.update({ where: { id: user.id }, data: { failedLogins: 0, lockedUntil: until } });
      await writeAudit(tx, actor, {
        action: "auth.lockout",
        targetType: "user",
        targetId: user.id,
        details: { failedLogins: updated.failedLogins, lockedUntil: until.toISOString() },
      });
      return until;
    });
    if (lockedUntil) throw lockedError(lockedUntil);
    throw new AuthenticationError(INVALID_CREDENTIALS);
  }

  const sessionToken = randomSecret();
  const csrfToken = randomSecret();
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await db.$transaction(async (tx) => {
    await tx.user.update({
      where: { id: user.id },
      data: { failedLogins: 0, lockedUntil: null, lastLoginAt: now },
    });
    const session = await tx.session.create({
      data: {
        tokenHash: sha256Hex(sessionToken),
        csrfToken,
        userId: user.id,
        expiresAt,
        ip: attempt.ip,
        userAgent: attempt.userAgent?.slice(0, 500) ?? null,
      },
    });
    await writeAudit(tx, actor, { action: "auth.login", targetType: "session", targetId: session.id });
  });
  return {
    user: { id: user.id, email: user.email, name: user.name, role: user.role },
    sessionToken,
    csrfToken,
    expiresAt,
  };
}

function lockedError(until: Date): RateLimitedError {
  return new RateLimitedError(
    `Account locked after ${MAX_FAILED_LOGINS} failed logins; retry after ${until.toISOString()}`,
    until,
  );
}

export async function logout(db: Db, sessionId: string, actor: Actor): Promise<void> {
  await db.$transaction(async (tx) => {
    await tx.session.deleteMany({ where: { id: sessionId } });
    await writeAudit(tx, actor, { action: "auth.logout", targetType: "session", targetId: sessionId });
  });
}

export async function authenticateSession(
  db: Db,
  token: string,
  now = new Date(),
): Promise<Extract<Authentication, { kind: "session" }> | null> {
  const session = await db.session.findUnique({
    where: { tokenHash: sha256Hex(token) },
    include: { user: { select: userFields } },
  });
  if (!session || session.expiresAt <= now) return null;
  if (now.getTime() - session.lastSeenAt.getTime() > LAST_SEEN_RESOLUTION_MS) {
    await db.session.update({ where: { id: session.id }, data: { lastSeenAt: now } });
  }
  return {
    kind: "session",
    user: session.user,
    sessionId: session.id,
    csrfToken: session.csrfToken,
    expiresAt: session.expiresAt,
  };
}

/**
 * Resolves an API token; with `email` (the X-CH-Auth-Email header style) the token must also belong to that
 * user. Returns null for unknown, revoked or mismatched tokens: the caller reports all alike.
 */
export async function authenticateApiToken(
  db: Db,
  secret: string,
  email: string | null,
  now = new Date(),
): Promise<Extract<Authentication, { kind: "api_token" }> | null> {
  const token = await db.apiToken.findUnique({
    where: { tokenHash: sha256Hex(secret) },
    include: { user: { select: userFields } },
  });
  if (!token || token.revokedAt) return null;
  if (email !== null && token.user.email !== email.trim().toLowerCase()) return null;
  await db.apiToken.update({ where: { id: token.id }, data: { lastUsedAt: now } });
  return { kind: "api_token", user: token.user, tokenId: token.id };
}
