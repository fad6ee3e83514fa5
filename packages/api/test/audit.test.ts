import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callerAs, createHarness, type Harness } from "./harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
  const admin = await callerAs(h, h.users.admin, "198.51.100.9");
  for (let i = 0; i < 5; i++) {
    await admin.plans.create({ name: `audited-${i}`, maxDevices: 1, maxFlowsPerSecond: 1, retentionDays: 1 });
  }
  const plan = await h.db.plan.findUniqueOrThrow({ where: { name: "audited-0" } });
  await admin.plans.update({ id: plan.id, retentionDays: 2 });
});
afterAll(() => h?.cleanup());

describe("audit.list", () => {
  it("pages newest first with a cursor until the end", async () => {
    const admin = await callerAs(h, h.users.admin);
    const first = await admin.audit.list({ limit: 2, action: "plans." });
    expect(first.items.map((e) => e.action)).toEqual(["plans.update", "plans.create"]);
    expect(first.items[1]?.details).toMatchObject({ name: "audited-4" });
    expect(first.nextCursor).toBe(first.items[1]?.id);
    const seen = [...first.items];
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await admin.audit.list({ limit: 2, action: "plans.", cursor });
      seen.push(...page.items);
      cursor = page.nextCursor;
    }
    expect(seen).toHaveLength(6);
    const ids = seen.map((e) => BigInt(e.id));
    expect([...ids].sort((a, b) => (a > b ? -1 : 1))).toEqual(ids);
    expect(seen.every((e) => e.actorLabel === h.users.admin.email && e.ip === "198.51.100.9")).toBe(true);
  });

  it("filters by exact action and by target", async () => {
    const admin = await callerAs(h, h.users.admin);
    const updates = await admin.audit.list({ action: "plans.update" });
    expect(updates.items).toHaveLength(1);
    const targetId = updates.items[0]?.targetId ?? "";
    const forTarget = await admin.audit.list({ targetType: "plan", targetId });
    expect(forTarget.items.map((e) => e.action)).toEqual(["plans.update", "plans.create"]);
    expect((await admin.audit.list({ action: "plans.creat" })).items).toHaveLength(0);
  });

  it("defaults to 50 entries when called without input", async () => {
    const admin = await callerAs(h, h.users.admin);
    const all = await admin.audit.list();
    // 3 token creations by the harness, 5 plan creations, 1 update.
    expect(all.items).toHaveLength(9);
    expect(all.nextCursor).toBeNull();
  });

  it("is refused to members", async () => {
    const member = await callerAs(h, h.users.member);
    await expect(member.audit.list({})).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
});
