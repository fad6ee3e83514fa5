import { afterEach, describe, expect, inject, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../src/testing";

describe("createTestDatabase", () => {
  const made: TestDatabase[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((db) => db.cleanup()));
  });

  it("gives each call its own migrated database that Prisma can write to", async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    made.push(a, b);
    expect(a.name).not.toBe(b.name);
    await a.prisma.plan.create({
      data: { name: "p", maxDevices: 1, maxFlowsPerSecond: 1, retentionDays: 1 },
    });
    expect(await a.prisma.plan.count()).toBe(1);
    expect(await b.prisma.plan.count()).toBe(0);
  });

  it("puts the databases on the one server the vitest globalSetup started for the whole run", async () => {
    const shared = new URL(inject("kernflowTestServerUrl"));
    const db = await createTestDatabase();
    made.push(db);
    expect(new URL(db.url).host).toBe(shared.host);
    expect(process.env.KERNFLOW_TEST_SERVER_URL).toBe(shared.toString());
  });

  it("drops the database on cleanup", async () => {
    const db = await createTestDatabase();
    const other = await createTestDatabase();
    made.push(other);
    await db.cleanup();
    const rows = await other.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM pg_database WHERE datname = ${db.name}`;
    expect(Number(rows[0]?.n)).toBe(0);
  });

  it("can give an empty database for tests of the migrator", async () => {
    const db = await createTestDatabase({ migrated: false });
    made.push(db);
    const rows = await db.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'`;
    expect(Number(rows[0]?.n)).toBe(0);
  });
});
