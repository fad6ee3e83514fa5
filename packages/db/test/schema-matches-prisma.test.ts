import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../src/testing";
import { expectedFacts, loadDatamodel, schemaDrift } from "./schema-diff";

const SCHEMA = path.resolve(import.meta.dirname, "../../../prisma/schema.prisma");
const MIGRATOR_TABLES = ["_kernflow_migrations"];

describe("migrated database versus prisma/schema.prisma", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.cleanup();
  });

  it("reads every model of the schema through Prisma's own parser", () => {
    const facts = [...expectedFacts(loadDatamodel(SCHEMA))];
    for (const table of [
      "users",
      "sessions",
      "api_tokens",
      "plans",
      "devices",
      "enrollment_tokens",
      "bytecodes",
      "capture_rules",
      "export_targets",
      "audit_log",
    ]) {
      expect(facts).toContain(`table ${table}`);
    }
    expect(facts).toContain("column users.email text not null default none");
    expect(facts).toContain("unique index api_tokens_user_id_name_key on api_tokens(user_id, name)");
  });

  it("has exactly the enums, tables, columns, defaults, indexes and foreign keys the schema states", async () => {
    const drift = await schemaDrift(SCHEMA, db.url, MIGRATOR_TABLES);
    expect(drift).toEqual({ missing: [], unexpected: [] });
  });
});

describe("the schema comparison catches drift", () => {
  // Each case breaks one thing in a scratch copy of the migrated database and names the facts that must
  // then show up as missing (and, where the change leaves something else behind, as unexpected).
  const cases: { what: string; sql: string; missing: string; unexpected?: string }[] = [
    {
      what: "a column that lost NOT NULL",
      sql: `ALTER TABLE "users" ALTER COLUMN "name" DROP NOT NULL`,
      missing: "column users.name text not null default none",
      unexpected: "column users.name text null default none",
    },
    {
      what: "a column of the wrong type",
      sql: `ALTER TABLE "plans" ALTER COLUMN "max_devices" TYPE BIGINT`,
      missing: "column plans.max_devices integer not null default none",
      unexpected: "column plans.max_devices bigint not null default none",
    },
    {
      what: "a dropped default",
      sql: `ALTER TABLE "export_targets" ALTER COLUMN "enabled" DROP DEFAULT`,
      missing: "column export_targets.enabled boolean not null default 'true'",
      unexpected: "column export_targets.enabled boolean not null default none",
    },
    {
      what: "a column the schema does not have",
      sql: `ALTER TABLE "devices" ADD COLUMN "rack" TEXT`,
      missing: "",
      unexpected: "column devices.rack text null default none",
    },
    {
      what: "a missing index",
      sql: `DROP INDEX "audit_log_target_type_target_id_idx"`,
      missing: "index audit_log_target_type_target_id_idx on audit_log(target_type, target_id)",
    },
    {
      what: "a unique index turned plain",
      sql: `DROP INDEX "plans_name_key"; CREATE INDEX "plans_name_key" ON "plans"("name")`,
      missing: "unique index plans_name_key on plans(name)",
      unexpected: "index plans_name_key on plans(name)",
    },
    {
      what: "an enum value too many",
      sql: `ALTER TYPE "DeviceStatus" ADD VALUE 'retired'`,
      missing: "enum DeviceStatus (pending, online, offline, degraded)",
      unexpected: "enum DeviceStatus (pending, online, offline, degraded, retired)",
    },
    {
      what: "a foreign key with the wrong delete action",
      sql: `ALTER TABLE "sessions" DROP CONSTRAINT "sessions_user_id_fkey";
            ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id")
              REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE`,
      missing:
        "foreign key sessions_user_id_fkey sessions(user_id) -> users(id) on delete Cascade on update Cascade",
      unexpected:
        "foreign key sessions_user_id_fkey sessions(user_id) -> users(id) on delete Restrict on update Cascade",
    },
  ];

  for (const c of cases) {
    it(`reports ${c.what}`, async () => {
      const scratch = await createTestDatabase();
      try {
        await scratch.prisma.$executeRawUnsafe(`DO $$ BEGIN ${c.sql.replaceAll("\n", " ")}; END $$`);
        const drift = await schemaDrift(SCHEMA, scratch.url, MIGRATOR_TABLES);
        expect(drift.missing).toEqual(c.missing ? [c.missing] : []);
        expect(drift.unexpected).toEqual(c.unexpected ? [c.unexpected] : []);
      } finally {
        await scratch.cleanup();
      }
    });
  }
});
