import { createTestDatabase, type TestDatabase } from "@kernflow/db/testing";
import { afterEach, describe, expect, it } from "vitest";
import { ensureBootstrapAdmin, FixedWindowRateLimiter, InvalidBootstrapEnvError } from "../src/index";
import { login } from "../src/services/auth";

const databases: TestDatabase[] = [];
async function freshDb() {
  const database = await createTestDatabase();
  databases.push(database);
  return database.prisma;
}
afterEach(async () => {
  await Promise.all(databases.splice(0).map((d) => d.cleanup()));
});
const limiter = () => new FixedWindowRateLimiter(100, 60_000);

describe("ensureBootstrapAdmin", () => {
  it("creates a super_admin with a generated password on first start, and nothing afterwards", async () => {
    const db = await freshDb();
    const credentials = await ensureBootstrapAdmin(db, {});
    expect(credentials).toMatchObject({ email: "admin@kernflow.local", generated: true });
    expect(credentials?.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const user = await db.user.findUniqueOrThrow({ where: { email: "admin@kernflow.local" } });
    expect(user.role).toBe("super_admin");
    expect(user.passwordHash).not.toContain(credentials?.password);
    const session = await login(
      db,
      { email: user.email, password: credentials?.password ?? "", ip: null, userAgent: null },
      limiter(),
    );
    expect(session.user.role).toBe("super_admin");
    expect(await db.auditEntry.count({ where: { action: "users.bootstrap", actorLabel: "system" } })).toBe(1);

    expect(await ensureBootstrapAdmin(db, {})).toBeNull();
    expect(await db.user.count()).toBe(1);
  });

  it("takes the email and password from the environment", async () => {
    const db = await freshDb();
    const credentials = await ensureBootstrapAdmin(db, {
      KERNFLOW_ADMIN_EMAIL: "Boss@Example.com",
      KERNFLOW_ADMIN_PASSWORD: "from-the-environment",
    });
    expect(credentials).toEqual({
      email: "boss@example.com",
      password: "from-the-environment",
      generated: false,
    });
    await login(
      db,
      { email: "boss@example.com", password: "from-the-environment", ip: null, userAgent: null },
      limiter(),
    );
  });

  it("creates exactly one administrator when several processes start at once", async () => {
    const db = await freshDb();
    const results = await Promise.all([1, 2, 3, 4].map(() => ensureBootstrapAdmin(db, {})));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(await db.user.count()).toBe(1);
  });

  it("rejects an invalid email or a short password from the environment, naming the variable", async () => {
    const db = await freshDb();
    await expect(ensureBootstrapAdmin(db, { KERNFLOW_ADMIN_EMAIL: "not-an-email" })).rejects.toThrow(
      /KERNFLOW_ADMIN_EMAIL must be an email address/,
    );
    await expect(ensureBootstrapAdmin(db, { KERNFLOW_ADMIN_PASSWORD: "short" })).rejects.toBeInstanceOf(
      InvalidBootstrapEnvError,
    );
    expect(await db.user.count()).toBe(0);
  });
});
