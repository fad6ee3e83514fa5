import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createTestDatabase, sweepAbandonedTestServers, type TestDatabase } from "../src/testing";

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

  it("outside vitest, starts a server of its own and stops it with stopTestServer", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of [
      "VITEST",
      "VITEST_POOL_ID",
      "VITEST_WORKER_ID",
      "KERNFLOW_TEST_SERVER_URL",
      "KERNFLOW_TEST_DATABASE_URL",
    ]) {
      delete env[name];
    }
    const fixture = path.join(import.meta.dirname, "fixtures", "test-database-outside-vitest.ts");
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", fixture], { env });
    const result = JSON.parse(stdout) as { url: string; planName: string };
    expect(result.planName).toBe("outside");
    expect(new URL(result.url).host).not.toBe(new URL(inject("kernflowTestServerUrl")).host);
    const client = new pg.Client({ connectionString: result.url });
    await expect(client.connect()).rejects.toThrow(/ECONNREFUSED/);
  });

  it("sweeps away the server of a killed earlier run, and leaves the running run's server alone", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "kernflow-test-pg-"));
    await chmod(dir, 0o755);
    const dataDir = path.join(dir, "data");
    const fixture = path.join(import.meta.dirname, "fixtures", "start-then-die.ts");
    await promisify(execFile)(process.execPath, ["--import", "tsx", fixture, dataDir]).catch(
      (error: { signal?: string }) => {
        if (error.signal !== "SIGKILL") throw error;
      },
    );
    const orphanPid = Number((await readFile(path.join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);

    // Another run starting at this moment may sweep it first; either way it must be gone afterwards.
    await sweepAbandonedTestServers();
    for (let i = 0; i < 100 && existsSync(`/proc/${orphanPid}`); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(`/proc/${orphanPid}`)).toBe(false);
    expect(existsSync(dir)).toBe(false);

    const shared = new pg.Client({ connectionString: inject("kernflowTestServerUrl") });
    await shared.connect();
    await shared.end();
  });
});
