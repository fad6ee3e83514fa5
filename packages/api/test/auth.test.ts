import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FixedWindowRateLimiter } from "../src/index";
import { sha256Hex } from "../src/services/secrets";
import { createHarness, type Harness, loginOverHttp, PASSWORD, trpc } from "./harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h?.cleanup());

describe("auth.login", () => {
  it("starts a session with an httpOnly, SameSite=Lax, Path=/ cookie whose token is stored only hashed", async () => {
    const { cookie, csrf, setCookie } = await loginOverHttp(h, h.users.admin.email);
    expect(setCookie).toMatch(/^kf_session=[A-Za-z0-9_-]{43}; /);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Lax");
    expect(setCookie).toContain("Path=/");
    expect(setCookie).toMatch(/Max-Age=86400/);
    expect(setCookie).not.toContain("Secure");
    const token = cookie.slice("kf_session=".length);
    const stored = await h.db.session.findUnique({ where: { tokenHash: sha256Hex(token) } });
    expect(stored?.userId).toBe(h.users.admin.id);
    expect(await h.db.session.count({ where: { tokenHash: token } })).toBe(0);
    expect(stored?.csrfToken).toBe(csrf);
    expect(stored?.expiresAt.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);

    const session = await trpc(h, "query", "auth.session", undefined, { cookie });
    expect(session.data).toMatchObject({
      user: { email: h.users.admin.email, role: "admin" },
      csrfToken: csrf,
    });
    expect(session.data.expiresAt).toBeInstanceOf(Date);
  });

  it("marks the cookie Secure when the console is reached over https", async () => {
    const res = await trpc(
      h,
      "mutation",
      "auth.login",
      { email: h.users.member.email, password: PASSWORD },
      {
        headers: { "x-forwarded-proto": "https" },
      },
    );
    expect(res.headers.get("set-cookie")).toContain("; Secure");
  });

  it("accepts the email in any case", async () => {
    const res = await trpc(h, "mutation", "auth.login", {
      email: "  MEMBER@Example.com ",
      password: PASSWORD,
    });
    expect(res.status).toBe(200);
  });

  it("answers a wrong password and an unknown email with the same generic 401", async () => {
    const wrong = await trpc(h, "mutation", "auth.login", {
      email: h.users.member.email,
      password: "nope-nope-nope",
    });
    const unknown = await trpc(h, "mutation", "auth.login", {
      email: "ghost@example.com",
      password: "whatever12",
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.error.message).toBe("Invalid email or password");
    expect(unknown.error.message).toBe(wrong.error.message);
    expect(wrong.headers.get("set-cookie")).toBeNull();
  });

  it("locks the account for 15 minutes after 5 consecutive failures, even for the right password", async () => {
    const email = h.users.super_admin.email;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        (await trpc(h, "mutation", "auth.login", { email, password: `wrong-${i}-password` })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    const locked = await trpc(h, "mutation", "auth.login", { email, password: PASSWORD });
    expect(locked.status).toBe(429);
    expect(locked.error.data.code).toBe("TOO_MANY_REQUESTS");
    const user = await h.db.user.findUniqueOrThrow({ where: { id: h.users.super_admin.id } });
    expect(user.lockedUntil?.getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
    expect(user.lockedUntil?.getTime()).toBeLessThanOrEqual(Date.now() + 15 * 60_000);
    expect(locked.error.message).toContain(`retry after ${user.lockedUntil?.toISOString()}`);
    const audit = await h.db.auditEntry.findMany({ where: { action: "auth.lockout", targetId: user.id } });
    expect(audit).toHaveLength(1);

    // Once the lock has passed, the right password works again and the counter starts over.
    await h.db.user.update({ where: { id: user.id }, data: { lockedUntil: new Date(Date.now() - 1000) } });
    expect((await trpc(h, "mutation", "auth.login", { email, password: PASSWORD })).status).toBe(200);
  });

  it("resets the failure count after a successful login", async () => {
    const email = h.users.admin.email;
    for (let i = 0; i < 4; i++)
      await trpc(h, "mutation", "auth.login", { email, password: "wrong-password-x" });
    expect((await trpc(h, "mutation", "auth.login", { email, password: PASSWORD })).status).toBe(200);
    expect((await h.db.user.findUniqueOrThrow({ where: { email } })).failedLogins).toBe(0);
    const again = await trpc(h, "mutation", "auth.login", { email, password: "wrong-password-x" });
    expect(again.status).toBe(401);
  });

  it("rate-limits login attempts per client IP", async () => {
    const deps = { ...h.deps, loginLimiter: new FixedWindowRateLimiter(3, 60_000) };
    const limited = { ...h, deps };
    const from = (ip: string) =>
      trpc(
        limited,
        "mutation",
        "auth.login",
        { email: "nobody@example.com", password: "x-password" },
        {
          headers: { "x-forwarded-for": ip },
        },
      );
    expect([(await from("198.51.100.1")).status, (await from("198.51.100.1")).status]).toEqual([401, 401]);
    expect((await from("198.51.100.1")).status).toBe(401);
    const blocked = await from("198.51.100.1");
    expect(blocked.status).toBe(429);
    expect(blocked.error.message).toMatch(/Too many login attempts from this address; retry after \d{4}-/);
    expect((await from("198.51.100.2")).status).toBe(401);
  });

  it("refuses a login posted from a foreign Origin", async () => {
    const res = await trpc(
      h,
      "mutation",
      "auth.login",
      { email: h.users.member.email, password: PASSWORD },
      {
        headers: { origin: "https://evil.example" },
      },
    );
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
    const same = await trpc(
      h,
      "mutation",
      "auth.login",
      { email: h.users.member.email, password: PASSWORD },
      {
        headers: { origin: "http://console.test" },
      },
    );
    expect(same.status).toBe(200);
  });

  it("records each login in the audit log with the client IP", async () => {
    await trpc(
      h,
      "mutation",
      "auth.login",
      { email: h.users.member.email, password: PASSWORD },
      {
        headers: { "x-forwarded-for": "203.0.113.7" },
      },
    );
    const entry = await h.db.auditEntry.findFirst({
      where: { action: "auth.login", actorId: h.users.member.id, ip: "203.0.113.7" },
    });
    expect(entry?.targetType).toBe("session");
  });
});

describe("auth.session and auth.logout", () => {
  it("returns null without a cookie and for an unknown or expired session", async () => {
    expect((await trpc(h, "query", "auth.session", undefined)).data).toBeNull();
    expect(
      (await trpc(h, "query", "auth.session", undefined, { cookie: "kf_session=forged" })).data,
    ).toBeNull();
    const { cookie } = await loginOverHttp(h, h.users.member.email);
    const token = cookie.slice("kf_session=".length);
    await h.db.session.update({
      where: { tokenHash: sha256Hex(token) },
      data: { expiresAt: new Date(Date.now() - 1) },
    });
    expect((await trpc(h, "query", "auth.session", undefined, { cookie })).data).toBeNull();
    const me = await trpc(h, "query", "auth.me", undefined, { cookie });
    expect(me.status).toBe(401);
    expect(me.error.message).toContain("Session expired");
  });

  it("ends the session and clears the cookie on logout with the CSRF token", async () => {
    const { cookie, csrf } = await loginOverHttp(h, h.users.member.email);
    const refused = await trpc(h, "mutation", "auth.logout", undefined, { cookie });
    expect(refused.status).toBe(403);
    const res = await trpc(h, "mutation", "auth.logout", undefined, { cookie, csrf });
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toMatch(/^kf_session=; .*Max-Age=0/);
    expect((await trpc(h, "query", "auth.session", undefined, { cookie })).data).toBeNull();
    const token = cookie.slice("kf_session=".length);
    expect(await h.db.session.count({ where: { tokenHash: sha256Hex(token) } })).toBe(0);
  });
});

describe("CSRF protection of cookie-authenticated mutations", () => {
  const plan = (name: string) => ({ name, maxDevices: 5, maxFlowsPerSecond: 1000, retentionDays: 7 });

  it("refuses a mutation without the x-kernflow-csrf header and changes nothing", async () => {
    const { cookie } = await loginOverHttp(h, h.users.admin.email);
    const res = await trpc(h, "mutation", "plans.create", plan("csrf-missing"), { cookie });
    expect(res.status).toBe(403);
    expect(res.error.message).toContain("x-kernflow-csrf");
    expect(await h.db.plan.count({ where: { name: "csrf-missing" } })).toBe(0);
  });

  it("refuses a wrong CSRF token and a foreign Origin, and accepts the right token from the same origin", async () => {
    const { cookie, csrf } = await loginOverHttp(h, h.users.admin.email);
    expect(
      (await trpc(h, "mutation", "plans.create", plan("csrf-wrong"), { cookie, csrf: "x" })).status,
    ).toBe(403);
    const foreign = await trpc(h, "mutation", "plans.create", plan("csrf-origin"), {
      cookie,
      csrf,
      headers: { origin: "https://evil.example" },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.error.message).toContain("Cross-origin");
    const ok = await trpc(h, "mutation", "plans.create", plan("csrf-ok"), {
      cookie,
      csrf,
      headers: { origin: "http://console.test" },
    });
    expect(ok.status).toBe(200);
    expect(ok.data.name).toBe("csrf-ok");
  });

  it("does not ask for a CSRF token on queries or from API-token callers", async () => {
    const { cookie } = await loginOverHttp(h, h.users.member.email);
    expect((await trpc(h, "query", "plans.list", undefined, { cookie })).status).toBe(200);
    const res = await trpc(h, "mutation", "plans.create", plan("csrf-token-caller"), {
      headers: { authorization: `Bearer ${h.users.admin.token}` },
    });
    expect(res.status).toBe(200);
  });
});

describe("tRPC request limits", () => {
  it("answers 413 for a tRPC body over 1 MiB before input validation sees it", async () => {
    const res = await trpc(h, "mutation", "auth.login", {
      email: h.users.member.email,
      password: "p".repeat(1024 * 1024),
    });
    expect(res.status).toBe(413);
    // Input validation (password max 1000 chars) would have answered 400; 413 shows the body was never parsed.
    expect(res.error.data.code).toBe("PAYLOAD_TOO_LARGE");
    expect(res.error.message).toBe("Request body exceeds 1048576 bytes");
  });
});
