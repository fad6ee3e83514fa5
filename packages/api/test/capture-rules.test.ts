import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConfigChange, onConfigChange } from "../src/agent/config-bus";
import { effectiveCaptureRule } from "../src/services/capture-rules";
import { callerAs, createHarness, type Harness, rest } from "./harness";

let h: Harness;
let planId: string;
let otherPlanId: string;
beforeAll(async () => {
  h = await createHarness();
  const plan = (name: string) =>
    h.db.plan.create({ data: { name, maxDevices: 10, maxFlowsPerSecond: 1000, retentionDays: 7 } });
  planId = (await plan("k8s")).id;
  otherPlanId = (await plan("edge")).id;
});
afterAll(() => h?.cleanup());

function statusReport(interfaces: string[]) {
  return {
    health: "ok",
    config_hash_applied: null,
    bytecode_sha256: null,
    interfaces_seen: interfaces,
    interfaces_attached: [],
    map_overflow: 0,
    flows_per_second: 0,
    records_spooled: 0,
    errors: [],
  };
}

async function device(name: string, interfaces: string[] | null, plan = planId) {
  return h.db.device.create({
    data: { name, planId: plan, statusReport: interfaces ? statusReport(interfaces) : undefined },
  });
}

function recordChanges(): { changes: ConfigChange[]; stop(): void } {
  const changes: ConfigChange[] = [];
  const stop = onConfigChange((c) => changes.push(c));
  return { changes, stop };
}

describe("effective capture rule", () => {
  it("is every interface but lo by default, the plan's rule when set, and the device's own rule over it", async () => {
    const admin = await callerAs(h, h.users.admin);
    const node = await device("node-eff", ["lo", "eth0"]);
    expect(await effectiveCaptureRule(h.db, node.id)).toEqual({
      include: ["*"],
      exclude: ["lo"],
      sampleRate: 1,
      source: "default",
      ruleId: null,
    });
    const planRule = await admin.captureRules.create({
      scope: "plan",
      planId,
      name: "pods",
      include: ["cali*", "eth0"],
      exclude: ["cali0"],
    });
    expect(await effectiveCaptureRule(h.db, node.id)).toMatchObject({
      include: ["cali*", "eth0"],
      exclude: ["cali0"],
      source: "plan",
      ruleId: planRule.id,
    });
    const own = await admin.captureRules.create({
      scope: "device",
      deviceId: node.id,
      name: "only tunnels",
      include: ["tun*"],
      sampleRate: 10,
    });
    expect(await effectiveCaptureRule(h.db, node.id)).toEqual({
      include: ["tun*"],
      exclude: [],
      sampleRate: 10,
      source: "device",
      ruleId: own.id,
    });
    await admin.captureRules.delete({ id: own.id });
    expect((await effectiveCaptureRule(h.db, node.id)).source).toBe("plan");
    await admin.captureRules.delete({ id: planRule.id });
  });
});

describe("capture rule CRUD", () => {
  it("creates, lists, updates and deletes, auditing each change and waking the plan's or device's agents", async () => {
    const admin = await callerAs(h, h.users.admin);
    const node = await device("node-crud", ["eth0"], otherPlanId);
    const { changes, stop } = recordChanges();
    const rule = await admin.captureRules.create({
      scope: "plan",
      planId: otherPlanId,
      name: "edge uplinks",
      include: ["eth*", "wg?"],
    });
    expect(rule).toMatchObject({
      scope: "plan",
      planName: "edge",
      deviceId: null,
      exclude: [],
      sampleRate: 1,
    });
    const devRule = await admin.captureRules.create({
      scope: "device",
      deviceId: node.id,
      name: "node rule",
      include: ["eth0"],
    });
    expect(devRule.deviceName).toBe("node-crud");
    expect((await admin.captureRules.list({ planId: otherPlanId })).map((r) => r.id)).toEqual([rule.id]);
    expect((await admin.captureRules.list({ deviceId: node.id })).map((r) => r.id)).toEqual([devRule.id]);

    const updated = await admin.captureRules.update({ id: rule.id, exclude: ["eth9"], sampleRate: 4 });
    expect(updated).toMatchObject({ include: ["eth*", "wg?"], exclude: ["eth9"], sampleRate: 4 });
    await admin.captureRules.delete({ id: devRule.id });
    await admin.captureRules.delete({ id: rule.id });
    stop();
    expect(changes).toEqual([
      { planIds: [otherPlanId] },
      { deviceIds: [node.id] },
      { planIds: [otherPlanId] },
      { deviceIds: [node.id] },
      { planIds: [otherPlanId] },
    ]);
    const actions = (
      await h.db.auditEntry.findMany({
        where: { targetId: { in: [rule.id, devRule.id] } },
        orderBy: { at: "asc" },
      })
    ).map((a) => a.action);
    expect(actions).toEqual([
      "capture_rules.create",
      "capture_rules.create",
      "capture_rules.update",
      "capture_rules.delete",
      "capture_rules.delete",
    ]);
  });

  it("allows one rule per plan and per device, naming the existing one", async () => {
    const admin = await callerAs(h, h.users.admin);
    const first = await admin.captureRules.create({ scope: "plan", planId, name: "first", include: ["*"] });
    await expect(
      admin.captureRules.create({ scope: "plan", planId, name: "second", include: ["eth0"] }),
    ).rejects.toThrow(`plan "k8s" already has capture rule "first" (${first.id}); edit it`);
    await admin.captureRules.delete({ id: first.id });
  });

  it("rejects regular expressions, empty lists, bad globs and sample rates below 1 with the field named", async () => {
    const admin = await callerAs(h, h.users.admin);
    const bad = (input: Record<string, unknown>) =>
      admin.captureRules.create({ scope: "plan", planId, name: "bad", include: ["eth0"], ...input } as never);
    await expect(bad({ include: ["eth(0|1)"] })).rejects.toThrow(
      /include\.0: only interface-name characters/,
    );
    await expect(bad({ include: ["^eth.+$"] })).rejects.toThrow(/no regular expressions/);
    await expect(bad({ include: [] })).rejects.toThrow(/include: at least one include pattern is needed/);
    await expect(bad({ include: [""] })).rejects.toThrow(/must not be empty/);
    await expect(bad({ exclude: ["tun[0-"] })).rejects.toThrow(/never closed/);
    await expect(bad({ include: ["e".repeat(65)] })).rejects.toThrow(/at most 64 characters/);
    await expect(bad({ sampleRate: 0 })).rejects.toThrow(/sampleRate: must be at least 1/);
    expect(await h.db.captureRule.count({ where: { name: "bad" } })).toBe(0);
  });
});

describe("capture rule preview", () => {
  it("says per device which reported interfaces a draft matches, and which devices run their own rule", async () => {
    const admin = await callerAs(h, h.users.admin);
    const a = await device("node-a", ["lo", "eth0", "cali12ab", "cali0", "tun0"]);
    await device("node-b", ["lo", "ens3", "docker0"]);
    await device("node-c", null);
    await admin.captureRules.create({
      scope: "device",
      deviceId: a.id,
      name: "node-a own",
      include: ["tun*"],
    });

    const member = await callerAs(h, h.users.member);
    const preview = await member.captureRules.preview({
      scope: "plan",
      planId,
      include: ["eth*", "cali*"],
      exclude: ["cali0"],
    });
    const byName = Object.fromEntries(preview.map((p) => [p.deviceName, p]));
    expect(byName["node-a"]?.matched).toEqual(["eth0", "cali12ab"]);
    expect(byName["node-a"]?.summary).toBe(
      'matches eth0, cali12ab on node-a (but node-a runs its own rule "node-a own")',
    );
    expect(byName["node-b"]?.summary).toBe("matches no interface on node-b");
    expect(byName["node-c"]).toMatchObject({
      interfacesSeen: null,
      summary: "node-c has not reported its interfaces yet",
    });
    expect(await h.db.captureRule.count({ where: { scope: "plan", planId } })).toBe(0);
  });

  it("previews a saved rule by id, and a device draft over REST", async () => {
    const admin = await callerAs(h, h.users.admin);
    const rule = await admin.captureRules.create({ scope: "plan", planId, name: "saved", include: ["ens*"] });
    const saved = await admin.captureRules.preview({ id: rule.id });
    expect(saved.find((p) => p.deviceName === "node-b")?.matched).toEqual(["ens3"]);

    const b = await h.db.device.findUniqueOrThrow({ where: { name: "node-b" } });
    const res = await rest(h, "POST", "/capture-rules/preview", {
      token: h.users.member.token,
      body: { scope: "device", deviceId: b.id, include: ["*"], exclude: ["lo", "docker*"] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      expect.objectContaining({ deviceName: "node-b", summary: "matches ens3 on node-b" }),
    ]);
    await admin.captureRules.delete({ id: rule.id });
  });
});

describe("capture rules over REST and roles", () => {
  it("lets an admin create and a member list, but not change, rules", async () => {
    const created = await rest(h, "POST", "/capture-rules", {
      token: h.users.admin.token,
      body: { scope: "plan", planId: otherPlanId, name: "rest rule", include: ["eth0"], exclude: ["lo"] },
    });
    expect(created.status).toBe(201);
    const listed = await rest(h, "GET", `/capture-rules?planId=${otherPlanId}`, {
      token: h.users.member.token,
    });
    expect(listed.status).toBe(200);
    expect(listed.body.map((r: { id: string }) => r.id)).toEqual([created.body.id]);

    const member = h.users.member.token;
    const denied = await rest(h, "POST", "/capture-rules", {
      token: member,
      body: { scope: "plan", planId, name: "member rule", include: ["eth0"] },
    });
    expect(denied.status).toBe(403);
    const patch = await rest(h, "PATCH", `/capture-rules/${created.body.id}`, {
      token: member,
      body: { include: ["*"] },
    });
    expect(patch.status).toBe(403);
    const del = await rest(h, "DELETE", `/capture-rules/${created.body.id}`, { token: member });
    expect(del.status).toBe(403);
    const patched = await rest(h, "PATCH", `/capture-rules/${created.body.id}`, {
      token: h.users.admin.token,
      body: { include: ["eth*"] },
    });
    expect(patched.body.include).toEqual(["eth*"]);
    const bad = await rest(h, "POST", "/capture-rules", {
      token: h.users.admin.token,
      body: { scope: "device", deviceId: otherPlanId, name: "x", include: ["eth0"] },
    });
    expect(bad.status).toBe(404);
  });
});
