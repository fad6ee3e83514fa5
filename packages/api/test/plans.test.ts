import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPlan, deletePlan, updatePlan } from "../src/services/plans";
import { callerAs, createHarness, type Harness } from "./harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h?.cleanup());

const fields = { maxDevices: 3, maxFlowsPerSecond: 5000, retentionDays: 30 };

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return `${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error("expected the call to fail");
}

async function addDevices(planId: string, count: number, prefix: string) {
  for (let i = 0; i < count; i++) await h.db.device.create({ data: { name: `${prefix}-${i}`, planId } });
}

describe("plans through createCaller", () => {
  it("lets an admin create, get, update and delete a plan, auditing each change in its transaction", async () => {
    const admin = await callerAs(h, h.users.admin, "192.0.2.44");
    const created = await admin.plans.create({ name: "edge", description: "edge sites", ...fields });
    expect(created).toMatchObject({ name: "edge", description: "edge sites", deviceCount: 0, ...fields });
    expect(await admin.plans.get({ id: created.id })).toEqual(created);

    const updated = await admin.plans.update({ id: created.id, retentionDays: 90, name: "edge-sites" });
    expect(updated).toMatchObject({ name: "edge-sites", retentionDays: 90, maxDevices: 3 });

    const deleted = await admin.plans.delete({ id: created.id });
    expect(deleted.id).toBe(created.id);
    expect(await h.db.plan.count({ where: { id: created.id } })).toBe(0);

    const entries = await h.db.auditEntry.findMany({
      where: { targetType: "plan", targetId: created.id },
      orderBy: { id: "asc" },
    });
    expect(entries.map((e) => e.action)).toEqual(["plans.create", "plans.update", "plans.delete"]);
    for (const entry of entries) {
      expect(entry).toMatchObject({
        actorId: h.users.admin.id,
        actorLabel: h.users.admin.email,
        ip: "192.0.2.44",
      });
    }
    expect(entries[1]?.details).toEqual({
      name: { from: "edge", to: "edge-sites" },
      retentionDays: { from: 30, to: 90 },
    });
  });

  it("lets a member read plans but not change them (403)", async () => {
    const admin = await callerAs(h, h.users.admin);
    const plan = await admin.plans.create({ name: "member-visible", ...fields });
    const member = await callerAs(h, h.users.member);
    expect((await member.plans.list()).map((p) => p.name)).toContain("member-visible");
    expect(await code(member.plans.create({ name: "by-member", ...fields }))).toMatch(
      /^FORBIDDEN: .*admin role/,
    );
    expect(await code(member.plans.update({ id: plan.id, maxDevices: 9 }))).toMatch(/^FORBIDDEN/);
    expect(await code(member.plans.delete({ id: plan.id }))).toMatch(/^FORBIDDEN/);
    expect(
      await h.db.auditEntry.count({
        where: { actorId: h.users.member.id, action: { startsWith: "plans." } },
      }),
    ).toBe(0);
  });

  it("refuses a plan name that is already taken with CONFLICT", async () => {
    const admin = await callerAs(h, h.users.admin);
    await admin.plans.create({ name: "unique-name", ...fields });
    expect(await code(admin.plans.create({ name: "unique-name", ...fields }))).toBe(
      'CONFLICT: A plan named "unique-name" already exists',
    );
    const other = await admin.plans.create({ name: "other-name", ...fields });
    expect(await code(admin.plans.update({ id: other.id, name: "unique-name" }))).toMatch(/^CONFLICT/);
  });

  it("does not let maxDevices drop below the plan's device count, and writes no audit entry then", async () => {
    const admin = await callerAs(h, h.users.admin);
    const plan = await admin.plans.create({ name: "busy", ...fields, maxDevices: 10 });
    await addDevices(plan.id, 3, "busy");
    expect((await admin.plans.get({ id: plan.id })).deviceCount).toBe(3);
    expect(await code(admin.plans.update({ id: plan.id, maxDevices: 2 }))).toBe(
      'BAD_REQUEST: maxDevices (2) cannot be below the 3 devices already on plan "busy"',
    );
    expect((await admin.plans.update({ id: plan.id, maxDevices: 3 })).maxDevices).toBe(3);
    expect(await h.db.auditEntry.count({ where: { targetId: plan.id, action: "plans.update" } })).toBe(1);
  });

  it("refuses to delete a plan while devices use it", async () => {
    const admin = await callerAs(h, h.users.admin);
    const plan = await admin.plans.create({ name: "in-use", ...fields });
    await addDevices(plan.id, 1, "in-use");
    expect(await code(admin.plans.delete({ id: plan.id }))).toMatch(
      /^CONFLICT: Plan "in-use" still has 1 device/,
    );
    await h.db.device.deleteMany({ where: { planId: plan.id } });
    await admin.plans.delete({ id: plan.id });
  });

  it("validates limits: positive, integral, retention 1..3650", async () => {
    const admin = await callerAs(h, h.users.admin);
    expect(await code(admin.plans.create({ name: "zero", ...fields, maxDevices: 0 }))).toMatch(
      /^BAD_REQUEST: maxDevices: must be at least 1/,
    );
    expect(await code(admin.plans.create({ name: "neg", ...fields, maxFlowsPerSecond: -5 }))).toMatch(
      /^BAD_REQUEST: maxFlowsPerSecond/,
    );
    expect(await code(admin.plans.create({ name: "frac", ...fields, maxDevices: 1.5 }))).toMatch(
      /maxDevices/,
    );
    expect(await code(admin.plans.create({ name: "long", ...fields, retentionDays: 3651 }))).toMatch(
      /retentionDays: must be between 1 and 3650/,
    );
    expect(
      (await admin.plans.create({ name: "max-retention", ...fields, retentionDays: 3650 })).retentionDays,
    ).toBe(3650);
  });

  it("answers NOT_FOUND for an unknown plan id", async () => {
    const member = await callerAs(h, h.users.member);
    const id = "00000000-0000-4000-8000-000000000000";
    expect(await code(member.plans.get({ id }))).toBe(`NOT_FOUND: Plan ${id} not found`);
  });

  it("rolls the change back when its audit entry cannot be written (same transaction)", async () => {
    // An actor id with no user row violates the audit log's foreign key, so only the audit insert fails.
    const ghost = { userId: "00000000-0000-4000-8000-0000000000ff", label: "ghost", ip: null };
    await expect(createPlan(h.db, ghost, { name: "never", description: "", ...fields })).rejects.toThrow();
    expect(await h.db.plan.count({ where: { name: "never" } })).toBe(0);

    const admin = await callerAs(h, h.users.admin);
    const plan = await admin.plans.create({ name: "kept", ...fields });
    await expect(updatePlan(h.db, ghost, plan.id, { retentionDays: 99 })).rejects.toThrow();
    await expect(deletePlan(h.db, ghost, plan.id)).rejects.toThrow();
    expect(await h.db.plan.findUnique({ where: { id: plan.id } })).toMatchObject({ retentionDays: 30 });
  });
});
