import type { Role } from "@kernflow/db";
import type { Db, Tx } from "../db";
import { isUniqueViolation } from "../db";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { type Actor, writeAudit } from "./audit";
import { hashPassword } from "./passwords";
import { serializable } from "./transactions";

export interface UserView {
  id: string;
  email: string;
  name: string;
  role: Role;
  lockedUntil: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
}

const userView = {
  id: true,
  email: true,
  name: true,
  role: true,
  lockedUntil: true,
  lastLoginAt: true,
  createdAt: true,
} as const;

export function listUsers(db: Db): Promise<UserView[]> {
  return db.user.findMany({ select: userView, orderBy: { email: "asc" } });
}

export interface NewUser {
  email: string;
  name: string;
  role: Role;
  password: string;
}

export async function createUser(db: Db, actor: Actor, input: NewUser): Promise<UserView> {
  const passwordHash = await hashPassword(input.password);
  try {
    return await db.$transaction(async (tx) => {
      const user = await tx.user.create({
        data: { email: input.email, name: input.name, role: input.role, passwordHash },
        select: userView,
      });
      await writeAudit(tx, actor, {
        action: "users.create",
        targetType: "user",
        targetId: user.id,
        details: { email: user.email, role: user.role },
      });
      return user;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`A user with email ${input.email} already exists`);
    throw error;
  }
}

export async function updateUser(
  db: Db,
  actor: Actor,
  id: string,
  changes: { name?: string | undefined; role?: Role | undefined },
): Promise<UserView> {
  return serializable(db, async (tx) => {
    const before = await findUser(tx, id);
    if (changes.role !== undefined && before.role === "super_admin" && changes.role !== "super_admin") {
      await assertAnotherSuperAdmin(tx, id, "demote");
    }
    const user = await tx.user.update({
      where: { id },
      data: {
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.role !== undefined ? { role: changes.role } : {}),
      },
      select: userView,
    });
    await writeAudit(tx, actor, {
      action: "users.update",
      targetType: "user",
      targetId: id,
      details: diff(before, user, ["name", "role"]),
    });
    return user;
  });
}

export async function resetPassword(db: Db, actor: Actor, id: string, password: string): Promise<UserView> {
  const passwordHash = await hashPassword(password);
  return db.$transaction(async (tx) => {
    await findUser(tx, id);
    // A reset also unlocks the account and ends its sessions: whoever knew the old password is logged out.
    const user = await tx.user.update({
      where: { id },
      data: { passwordHash, failedLogins: 0, lockedUntil: null },
      select: userView,
    });
    const ended = await tx.session.deleteMany({ where: { userId: id } });
    await writeAudit(tx, actor, {
      action: "users.resetPassword",
      targetType: "user",
      targetId: id,
      details: { sessionsEnded: ended.count },
    });
    return user;
  });
}

export async function deleteUser(db: Db, actor: Actor, id: string): Promise<UserView> {
  if (actor.userId === id) throw new InvalidInputError("You cannot delete your own account");
  return serializable(db, async (tx) => {
    const user = await findUser(tx, id);
    if (user.role === "super_admin") await assertAnotherSuperAdmin(tx, id, "delete");
    await tx.user.delete({ where: { id } });
    await writeAudit(tx, actor, {
      action: "users.delete",
      targetType: "user",
      targetId: id,
      details: { email: user.email, role: user.role },
    });
    return user;
  });
}

async function findUser(tx: Tx, id: string): Promise<UserView> {
  const user = await tx.user.findUnique({ where: { id }, select: userView });
  if (!user) throw new NotFoundError("User", id);
  return user;
}

async function assertAnotherSuperAdmin(tx: Tx, id: string, verb: "delete" | "demote"): Promise<void> {
  const others = await tx.user.count({ where: { role: "super_admin", id: { not: id } } });
  if (others === 0) throw new ConflictError(`Cannot ${verb} the last super_admin`);
}

function diff<T extends object>(before: T, after: T, keys: (keyof T & string)[]): Record<string, unknown> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of keys) {
    if (before[key] !== after[key]) changes[key] = { from: before[key], to: after[key] };
  }
  return changes;
}
