import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../src/services/secrets";
import { callerAs, createHarness, type Harness, loginOverHttp, rest, trpc } from "./harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h?.cleanup());

describe("apiTokens", () => {
  it("shows the secret once, stores only its SHA-256 and a visible kf_ prefix", async () => {
    const member = await callerAs(h, h.users.member);
    const { token, secret } = await member.apiTokens.create({ name: "ci" });
    expect(secret).toMatch(/^kf_[A-Za-z0-9_-]{43}$/);
    expect(token.prefix).toBe(secret.slice(0, 11));
    const row = await h.db.apiToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(row.tokenHash).toBe(sha256Hex(secret));
    expect(JSON.stringify(row)).not.toContain(secret);
    const listed = await member.apiTokens.list();
    expect(listed.find((t) => t.id === token.id)).toEqual(token);
    expect(JSON.stringify(listed)).not.toContain(secret);
    const audit = await h.db.auditEntry.findFirstOrThrow({
      where: { action: "apiTokens.create", targetId: token.id },
    });
    expect(audit.details).toEqual({ name: "ci", prefix: token.prefix });
  });

  it("updates lastUsedAt when a token authenticates", async () => {
    const member = await callerAs(h, h.users.member);
    const { token, secret } = await member.apiTokens.create({ name: "usage" });
    expect(token.lastUsedAt).toBeNull();
    const start = Date.now();
    expect((await rest(h, "GET", "/me", { token: secret })).status).toBe(200);
    const row = await h.db.apiToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(row.lastUsedAt?.getTime()).toBeGreaterThanOrEqual(start - 5);
  });

  it("refuses a second token with the same name for the same user (409) but allows it for another user", async () => {
    const member = await callerAs(h, h.users.member);
    await member.apiTokens.create({ name: "dup" });
    await expect(member.apiTokens.create({ name: "dup" })).rejects.toMatchObject({ code: "CONFLICT" });
    const admin = await callerAs(h, h.users.admin);
    await expect(admin.apiTokens.create({ name: "dup" })).resolves.toBeTruthy();
  });

  it("revokes only the caller's own tokens; another user's token is NOT_FOUND", async () => {
    const member = await callerAs(h, h.users.member);
    const admin = await callerAs(h, h.users.admin);
    const { token, secret } = await member.apiTokens.create({ name: "mine" });
    const error = await admin.apiTokens.revoke({ id: token.id }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("NOT_FOUND");
    expect((await h.db.apiToken.findUniqueOrThrow({ where: { id: token.id } })).revokedAt).toBeNull();
    const revoked = await member.apiTokens.revoke({ id: token.id });
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect((await rest(h, "GET", "/me", { token: secret })).status).toBe(401);
    // Revoking again changes nothing and writes no second audit entry.
    await member.apiTokens.revoke({ id: token.id });
    expect(await h.db.auditEntry.count({ where: { action: "apiTokens.revoke", targetId: token.id } })).toBe(
      1,
    );
  });

  it("works from the browser session with the CSRF token", async () => {
    const { cookie, csrf } = await loginOverHttp(h, h.users.admin.email);
    const res = await trpc(h, "mutation", "apiTokens.create", { name: "from-browser" }, { cookie, csrf });
    expect(res.status).toBe(200);
    expect(res.data.secret).toMatch(/^kf_/);
    expect(res.data.token.createdAt).toBeInstanceOf(Date);
  });
});
