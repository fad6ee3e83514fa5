import { z } from "zod";
import type { Db } from "../db";
import { isUniqueViolation } from "../db";
import { email, password } from "../validation";
import { writeAudit } from "./audit";
import { generatePassword, hashPassword } from "./passwords";

export const DEFAULT_ADMIN_EMAIL = "admin@kernflow.local";

const bootstrapEnv = z.object({
  KERNFLOW_ADMIN_EMAIL: email.optional(),
  KERNFLOW_ADMIN_PASSWORD: password.optional(),
});

export class InvalidBootstrapEnvError extends Error {
  constructor(detail: string) {
    super(`Invalid administrator settings in the environment: ${detail}`);
    this.name = "InvalidBootstrapEnvError";
  }
}

export interface BootstrapCredentials {
  email: string;
  password: string;
  /** False when the password came from KERNFLOW_ADMIN_PASSWORD (so there is nothing secret to print). */
  generated: boolean;
}

/**
 * On first start (no user at all) creates a super_admin and returns its credentials so the caller can print
 * them once; returns null when users already exist. Safe to call from several processes at once: the unique
 * email lets only one of them create the account.
 */
export async function ensureBootstrapAdmin(
  db: Db,
  env: Record<string, string | undefined>,
): Promise<BootstrapCredentials | null> {
  const parsed = bootstrapEnv.safeParse({
    // Empty variables (`KERNFLOW_ADMIN_EMAIL=`) mean "not set", as in shells and compose files.
    KERNFLOW_ADMIN_EMAIL: env.KERNFLOW_ADMIN_EMAIL || undefined,
    KERNFLOW_ADMIN_PASSWORD: env.KERNFLOW_ADMIN_PASSWORD || undefined,
  });
  if (!parsed.success) {
    throw new InvalidBootstrapEnvError(
      parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`).join("; "),
    );
  }
  if ((await db.user.count()) > 0) return null;

  const adminEmail = parsed.data.KERNFLOW_ADMIN_EMAIL ?? DEFAULT_ADMIN_EMAIL;
  const adminPassword = parsed.data.KERNFLOW_ADMIN_PASSWORD ?? generatePassword();
  const passwordHash = await hashPassword(adminPassword);
  try {
    await db.$transaction(async (tx) => {
      // Re-checked inside the transaction; the unique email settles the remaining race between processes.
      if ((await tx.user.count()) > 0) throw new AlreadyBootstrapped();
      const user = await tx.user.create({
        data: { email: adminEmail, name: "Administrator", role: "super_admin", passwordHash },
      });
      await writeAudit(
        tx,
        { userId: null, label: "system", ip: null },
        { action: "users.bootstrap", targetType: "user", targetId: user.id, details: { email: adminEmail } },
      );
    });
  } catch (error) {
    if (error instanceof AlreadyBootstrapped || isUniqueViolation(error)) return null;
    throw error;
  }
  return {
    email: adminEmail,
    password: adminPassword,
    generated: parsed.data.KERNFLOW_ADMIN_PASSWORD === undefined,
  };
}

class AlreadyBootstrapped extends Error {}
