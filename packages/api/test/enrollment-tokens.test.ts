import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { enroll, http, planAndToken, useFleetServer } from "./agent-protocol.helpers";
import { callerAs } from "./harness";

const fleet = useFleetServer();

const asAdmin = (method: string, path: string, body?: unknown) => fleet.asAdmin(method, path, body);

async function newPlan(maxDevices = 5) {
  const res = await asAdmin("POST", "/plans", {
    name: `plan-${Math.random().toString(36).slice(2, 8)}`,
    maxDevices,
    maxFlowsPerSecond: 1000,
    retentionDays: 7,
  });
  return res.body as { id: string; name: string };
}

describe("enrollment tokens", () => {
  it("creates a token whose secret is shown once with host and Kubernetes commands, storing only its hash", async () => {
    const plan = await newPlan();
    const res = await asAdmin("POST", "/enrollment-tokens", {
      name: "rack 12",
      planId: plan.id,
      namePrefix: "rack12-",
      expiresInHours: 48,
      maxUses: 20,
    });
    expect(res.status).toBe(201);
    const { token, secret, commands } = res.body;
    expect(secret).toMatch(/^kfe_/);
    expect(token).toMatchObject({
      name: "rack 12",
      planId: plan.id,
      planName: plan.name,
      namePrefix: "rack12-",
      maxUses: 20,
      uses: 0,
      state: "active",
      prefix: secret.slice(0, 12),
    });
    expect(new Date(token.expiresAt).getTime() - Date.now()).toBeGreaterThan(47 * 3_600_000);
    expect(commands.host).toBe(
      `npx kernflow-agent enroll --server ${fleet.server.url} --token ${secret} && npx kernflow-agent run`,
    );
    expect(commands.kubernetesSecret).toBe(
      `kubectl create secret generic kernflow-enrollment --from-literal=token=${secret} -n kernflow`,
    );
    expect(commands.kustomizeFile).toContain("enrollment-token.txt");
    expect(commands.kustomizeFile).toContain(secret);

    const row = await fleet.h.db.enrollmentToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(row.tokenHash).toBe(createHash("sha256").update(secret).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(secret);
    const listed = await asAdmin("GET", "/enrollment-tokens");
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    const audit = await fleet.h.db.auditEntry.findFirst({
      where: { action: "enrollmentTokens.create", targetId: token.id },
    });
    expect(audit?.actorId).toBe(fleet.h.users.admin.id);
  });

  it("uses the server URL given instead of the request's", async () => {
    const plan = await newPlan();
    const res = await asAdmin("POST", "/enrollment-tokens", {
      name: "behind proxy",
      planId: plan.id,
      expiresInHours: 1,
      maxUses: 1,
      serverUrl: "https://console.example.com",
    });
    expect(res.body.commands.host).toContain("--server https://console.example.com --token");
  });

  it("lists uses, last use and state as the token is used and revoked", async () => {
    const { token, secret } = await planAndToken(fleet.h, fleet.server, { maxUses: 2 });
    await enroll(fleet.server, secret);
    let listed = (await asAdmin("GET", "/enrollment-tokens")).body.find(
      (t: { id: string }) => t.id === token.id,
    );
    expect(listed).toMatchObject({ uses: 1, maxUses: 2, state: "active" });
    expect(listed.lastUsedAt).not.toBeNull();
    await enroll(fleet.server, secret);
    listed = (await asAdmin("GET", "/enrollment-tokens")).body.find((t: { id: string }) => t.id === token.id);
    expect(listed).toMatchObject({ uses: 2, state: "used_up" });
    const revoked = await asAdmin("DELETE", `/enrollment-tokens/${token.id}`);
    expect(revoked.body).toMatchObject({ state: "revoked" });
    expect(revoked.body.revokedAt).not.toBeNull();
    expect(
      await fleet.h.db.auditEntry.count({ where: { action: "enrollmentTokens.revoke", targetId: token.id } }),
    ).toBe(1);
  });

  it("rejects bad input with the field named (400) and an unknown plan (404)", async () => {
    const plan = await newPlan();
    const both = await asAdmin("POST", "/enrollment-tokens", {
      name: "x",
      planId: plan.id,
      deviceName: "a",
      namePrefix: "b-",
      expiresInHours: 1,
      maxUses: 1,
    });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toMatch(/either a device name .* or a name prefix/);
    const fixedMany = await asAdmin("POST", "/enrollment-tokens", {
      name: "x",
      planId: plan.id,
      deviceName: "a",
      expiresInHours: 1,
      maxUses: 3,
    });
    expect(fixedMany.status).toBe(400);
    const zero = await asAdmin("POST", "/enrollment-tokens", {
      name: "x",
      planId: plan.id,
      expiresInHours: 0,
      maxUses: 1,
    });
    expect(zero.status).toBe(400);
    expect(zero.body.error.message).toMatch(/expiresInHours/);
    const missing = await asAdmin("POST", "/enrollment-tokens", {
      name: "x",
      planId: "00000000-0000-4000-8000-000000000000",
      expiresInHours: 1,
      maxUses: 1,
    });
    expect(missing.status).toBe(404);
  });

  it("is for admins only: a member can neither list nor create tokens (403)", async () => {
    const plan = await newPlan();
    const asMember = (method: string, path: string, body?: unknown) =>
      http(fleet.server, method, `/api/v1${path}`, { bearer: fleet.h.users.member.token, body });
    expect((await asMember("GET", "/enrollment-tokens")).status).toBe(403);
    expect(
      (
        await asMember("POST", "/enrollment-tokens", {
          name: "m",
          planId: plan.id,
          expiresInHours: 1,
          maxUses: 1,
        })
      ).status,
    ).toBe(403);
    const admin = await callerAs(fleet.h, fleet.h.users.admin);
    expect(Array.isArray(await admin.enrollmentTokens.list())).toBe(true);
  });
});
