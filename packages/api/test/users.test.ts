import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../src/services/secrets";
import { callerAs, createHarness, type Harness, insertUser, loginOverHttp, trpc } from "./harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h?.cleanup());

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return `${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error("expected the call to fail");
}

describe("users (super_admin only)", () => {
  it("creates, lists, updates and deletes users, never exposing password hashes, with audit entries", async () => {
    const root = await callerAs(h, h.users.super_admin);
    const created = await root.users.create({
      email: "New.Person@Example.com",
      name: "New Person",
      role: "member",
      password: "new-person-password",
    });
    expect(created).toMatchObject({ email: "new.person@example.com", role: "member", lockedUntil: null });
    expect(created).not.toHaveProperty("passwordHash");
    const listed = await root.users.list();
    expect(listed.map((u) => u.email)).toContain("new.person@example.com");
    expect(listed.every((u) => !("passwordHash" in u))).toBe(true);

    const updated = await root.users.update({ id: created.id, role: "admin", name: "Promoted" });
    expect(updated).toMatchObject({ role: "admin", name: "Promoted" });
    await root.users.delete({ id: created.id });
    expect(await h.db.user.count({ where: { id: created.id } })).toBe(0);

    const actions = await h.db.auditEntry.findMany({
      where: { targetId: created.id },
      orderBy: { id: "asc" },
    });
    expect(actions.map((a) => a.action)).toEqual(["users.create", "users.update", "users.delete"]);
    expect(actions[1]?.details).toEqual({
      name: { from: "New Person", to: "Promoted" },
      role: { from: "member", to: "admin" },
    });
    expect(JSON.stringify(actions.map((a) => a.details))).not.toContain("new-person-password");
  });

  it("is forbidden to admins and members", async () => {
    for (const user of [h.users.admin, h.users.member]) {
      const caller = await callerAs(h, user);
      expect(await failure(caller.users.list())).toMatch(/^FORBIDDEN: This requires the super_admin role/);
      expect(
        await failure(
          caller.users.create({
            email: "x@example.com",
            name: "x",
            role: "super_admin",
            password: "x".repeat(12),
          }),
        ),
      ).toMatch(/^FORBIDDEN/);
    }
  });

  it("refuses a duplicate email with CONFLICT and a short password naming the field", async () => {
    const root = await callerAs(h, h.users.super_admin);
    expect(
      await failure(
        root.users.create({
          email: h.users.member.email,
          name: "dup",
          role: "member",
          password: "p".repeat(12),
        }),
      ),
    ).toBe(`CONFLICT: A user with email ${h.users.member.email} already exists`);
    expect(
      await failure(
        root.users.create({ email: "short@example.com", name: "s", role: "member", password: "short" }),
      ),
    ).toBe("BAD_REQUEST: password: must be at least 10 characters");
  });

  it("refuses to delete yourself and to demote the last super_admin", async () => {
    const root = await callerAs(h, h.users.super_admin);
    expect(await failure(root.users.delete({ id: h.users.super_admin.id }))).toBe(
      "BAD_REQUEST: You cannot delete your own account",
    );
    expect(await failure(root.users.update({ id: h.users.super_admin.id, role: "admin" }))).toBe(
      "CONFLICT: Cannot demote the last super_admin",
    );
    // With a second super_admin the first may be demoted; the second is then the last one.
    const second = await insertUser(h.db, "super_admin", "second-root@example.com");
    const other = await callerAs(h, second);
    await other.users.update({ id: h.users.super_admin.id, role: "admin" });
    expect(await failure(other.users.update({ id: second.id, role: "member" }))).toBe(
      "CONFLICT: Cannot demote the last super_admin",
    );
    // Roles are read per request: the demoted user's next request is refused.
    const demoted = await callerAs(h, h.users.super_admin);
    expect(await failure(demoted.users.list())).toMatch(/^FORBIDDEN/);
    await other.users.update({ id: h.users.super_admin.id, role: "super_admin" });
    await (await callerAs(h, h.users.super_admin)).users.delete({ id: second.id });
    expect(await h.db.user.count({ where: { role: "super_admin" } })).toBe(1);
  });

  it("resets a password: unlocks the account, ends its sessions, and the new password logs in", async () => {
    const target = await insertUser(h.db, "member", "forgetful@example.com");
    const { cookie } = await loginOverHttp(h, target.email);
    await h.db.user.update({
      where: { id: target.id },
      data: { lockedUntil: new Date(Date.now() + 600_000), failedLogins: 3 },
    });
    const root = await callerAs(h, h.users.super_admin);
    const result = await root.users.resetPassword({ id: target.id, password: "brand-new-password" });
    expect(result.lockedUntil).toBeNull();
    const token = cookie.slice("kf_session=".length);
    expect(await h.db.session.count({ where: { tokenHash: sha256Hex(token) } })).toBe(0);
    expect((await trpc(h, "query", "auth.session", undefined, { cookie })).data).toBeNull();
    await loginOverHttp(h, target.email, "brand-new-password");
    const audit = await h.db.auditEntry.findFirst({
      where: { action: "users.resetPassword", targetId: target.id },
    });
    expect(audit?.details).toEqual({ sessionsEnded: 1 });
  });

  it("answers NOT_FOUND when updating or deleting an unknown user", async () => {
    const root = await callerAs(h, h.users.super_admin);
    const id = "00000000-0000-4000-8000-000000000001";
    expect(await failure(root.users.update({ id, name: "x" }))).toBe(`NOT_FOUND: User ${id} not found`);
    expect(await failure(root.users.delete({ id }))).toBe(`NOT_FOUND: User ${id} not found`);
  });
});
