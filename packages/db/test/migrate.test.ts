import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { MigrationChecksumError, MigrationFailedError } from "../src/errors";
import { MIGRATION_LOCK_KEY, migrate, readMigrations } from "../src/migrate";
import { defaultMigrationsDir } from "../src/paths";
import { createTestDatabase, type TestDatabase } from "../src/testing";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function emptyDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ migrated: false });
  cleanups.push(() => db.cleanup());
  return db;
}

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "kernflow-migrations-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  for (const [name, sql] of Object.entries(files)) {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, "migration.sql"), sql);
  }
  return dir;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const tables = async (url: string) =>
  (
    await query<{ table_name: string }>(
      url,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    )
  ).map((r) => r.table_name);

describe("migrate", () => {
  it("applies the repository's migrations to an empty database and records name and sha256", async () => {
    const db = await emptyDatabase();
    const result = await migrate(db.url);
    const onDisk = await readMigrations(defaultMigrationsDir());
    expect(onDisk.length).toBeGreaterThan(0);
    expect(result.applied).toEqual(onDisk.map((m) => m.name));

    const recorded = await query<{ name: string; checksum: string }>(
      db.url,
      `SELECT name, checksum FROM "_kernflow_migrations" ORDER BY name`,
    );
    const first = onDisk[0];
    if (!first) throw new Error("no migration on disk");
    const fileSum = createHash("sha256")
      .update(await readFile(path.join(defaultMigrationsDir(), first.name, "migration.sql")))
      .digest("hex");
    expect(recorded[0]).toEqual({ name: first.name, checksum: fileSum });
    expect(await tables(db.url)).toContain("users");
  });

  it("applies nothing the second time", async () => {
    const db = await emptyDatabase();
    await migrate(db.url);
    expect(await migrate(db.url)).toEqual({ applied: [] });
  });

  it("applies in name order, and later only the migrations added since", async () => {
    const db = await emptyDatabase();
    const files: Record<string, string> = {
      "20260102000000_second": `ALTER TABLE "a" ADD COLUMN "b" INT NOT NULL DEFAULT 1;`,
      "20260101000000_first": `CREATE TABLE "a" ("id" INT PRIMARY KEY);`,
    };
    const dir = await migrationsDir(files);
    expect((await migrate(db.url, { migrationsDir: dir })).applied).toEqual([
      "20260101000000_first",
      "20260102000000_second",
    ]);
    await mkdir(path.join(dir, "20260103000000_third"));
    await writeFile(path.join(dir, "20260103000000_third", "migration.sql"), `CREATE TABLE "c" ("id" INT);`);
    expect((await migrate(db.url, { migrationsDir: dir })).applied).toEqual(["20260103000000_third"]);
    expect(await tables(db.url)).toEqual(["_kernflow_migrations", "a", "c"]);
  });

  it("refuses to run when an applied migration's file has changed, and changes nothing", async () => {
    const db = await emptyDatabase();
    const dir = await mkdtemp(path.join(os.tmpdir(), "kernflow-migrations-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await cp(defaultMigrationsDir(), dir, { recursive: true });
    const [first] = await readMigrations(dir);
    if (!first) throw new Error("no migration on disk");
    await migrate(db.url, { migrationsDir: dir });

    const file = path.join(dir, first.name, "migration.sql");
    await writeFile(file, `${await readFile(file, "utf8")}\nCREATE TABLE "sneaky" ("id" INT);\n`);
    await mkdir(path.join(dir, "99990101000000_later"));
    await writeFile(
      path.join(dir, "99990101000000_later", "migration.sql"),
      `CREATE TABLE "later" ("id" INT);`,
    );

    const error = await migrate(db.url, { migrationsDir: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationChecksumError);
    expect((error as MigrationChecksumError).migration).toBe(first.name);
    expect((error as Error).message).toMatch(/has changed/);
    const names = await tables(db.url);
    expect(names).not.toContain("sneaky");
    expect(names).not.toContain("later");
  });

  it("rolls back a failing migration completely and does not record it", async () => {
    const db = await emptyDatabase();
    const dir = await migrationsDir({
      "20260101000000_ok": `CREATE TABLE "ok" ("id" INT);`,
      "20260102000000_broken": `CREATE TABLE "half" ("id" INT); SELECT * FROM "no_such_table";`,
    });
    const error = await migrate(db.url, { migrationsDir: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationFailedError);
    expect((error as Error).message).toMatch(/20260102000000_broken.*no_such_table/);
    expect(await tables(db.url)).toEqual(["_kernflow_migrations", "ok"]);
    const recorded = await query<{ name: string }>(db.url, `SELECT name FROM "_kernflow_migrations"`);
    expect(recorded.map((r) => r.name)).toEqual(["20260101000000_ok"]);
  });

  it("lets only one of two concurrent callers apply a migration; the other waits and applies nothing", async () => {
    const db = await emptyDatabase();
    // The sleep widens the window in which both callers would see the migration as pending without the lock.
    const dir = await migrationsDir({
      "20260101000000_slow": `SELECT pg_sleep(0.5); CREATE TABLE "once" ("id" INT); INSERT INTO "once" VALUES (1);`,
    });
    const results = await Promise.all([
      migrate(db.url, { migrationsDir: dir }),
      migrate(db.url, { migrationsDir: dir }),
    ]);
    expect(results.map((r) => r.applied).sort()).toEqual([[], ["20260101000000_slow"]]);
    expect(await query(db.url, `SELECT * FROM "once"`)).toEqual([{ id: 1 }]);
  });

  it("waits while another process holds the migration lock", async () => {
    const db = await emptyDatabase();
    const dir = await migrationsDir({ "20260101000000_a": `CREATE TABLE "a" ("id" INT);` });
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    let done = false;
    const running = migrate(db.url, { migrationsDir: dir }).then((r) => {
      done = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(done).toBe(false);
    await holder.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
    expect((await running).applied).toEqual(["20260101000000_a"]);
  });
});
