import { stat } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/embedded";
import { DatabaseUnreachableError, InvalidDatabaseConfigError, PortInUseError } from "../src/errors";
import { readMigrations } from "../src/migrate";
import { openDatabase, parseDatabaseEnv } from "../src/open";
import { defaultMigrationsDir, findRepoRoot } from "../src/paths";
import { type ExternalServer, startExternalServer, tempDir } from "./server-helpers";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

describe("parseDatabaseEnv", () => {
  it("defaults KERNFLOW_HOME to .kernflow in the repository root and leaves DATABASE_URL unset", () => {
    expect(parseDatabaseEnv({})).toEqual({
      databaseUrl: undefined,
      home: path.join(findRepoRoot(), ".kernflow"),
      embeddedPort: undefined,
    });
  });

  it("treats an empty DATABASE_URL as unset", () => {
    expect(parseDatabaseEnv({ DATABASE_URL: "" }).databaseUrl).toBeUndefined();
  });

  it("rejects a DATABASE_URL that is not a PostgreSQL URL, naming the variable", () => {
    expect(() => parseDatabaseEnv({ DATABASE_URL: "mysql://u:p@localhost/db" })).toThrow(
      InvalidDatabaseConfigError,
    );
    expect(() => parseDatabaseEnv({ DATABASE_URL: "not a url" })).toThrow(
      /DATABASE_URL: must be a URL like postgresql:/,
    );
  });

  it("rejects an embedded port outside 1-65535", () => {
    expect(() => parseDatabaseEnv({ KERNFLOW_EMBEDDED_PG_PORT: "70000" })).toThrow(
      /KERNFLOW_EMBEDDED_PG_PORT/,
    );
  });
});

describe("openDatabase without DATABASE_URL", () => {
  it("starts an embedded server under KERNFLOW_HOME, creates and migrates the kernflow database, and stops on close", async () => {
    const home = await tempDir("kernflow-home-");
    cleanups.push(home.remove);
    const messages: string[] = [];
    const db = await openDatabase({ env: { KERNFLOW_HOME: home.dir }, log: (m) => messages.push(m) });
    cleanups.push(() => db.close());

    expect(db.embedded).toBe(true);
    expect(new URL(db.url).pathname).toBe("/kernflow");
    const [dir] = await sql<{ dir: string }>(db.url, "SELECT current_setting('data_directory') AS dir");
    expect(dir?.dir).toBe(path.join(home.dir, "postgres"));
    const plan = await db.prisma.plan.create({
      data: { name: "default", maxDevices: 10, maxFlowsPerSecond: 1000, retentionDays: 7 },
    });
    expect(plan.description).toBe("");
    expect(messages.some((m) => m.startsWith("applied "))).toBe(true);

    await db.close();
    await expect(sql(db.url, "SELECT 1")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("reports a busy KERNFLOW_EMBEDDED_PG_PORT before starting anything", async () => {
    const home = await tempDir("kernflow-home-");
    cleanups.push(home.remove);
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())));
    const address = blocker.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const error = await openDatabase({
      env: { KERNFLOW_HOME: home.dir, KERNFLOW_EMBEDDED_PG_PORT: String(port) },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    expect((error as Error).message).toContain(`port ${port}`);
  });

  it("creates a KERNFLOW_HOME that does not exist yet, with folders the server's user can enter", async () => {
    const base = await tempDir("kernflow-home-");
    cleanups.push(base.remove);
    const home = path.join(base.dir, "not", "yet");
    const db = await openDatabase({ env: { KERNFLOW_HOME: home } });
    cleanups.push(() => db.close());
    expect(await db.prisma.user.count()).toBe(0);
    expect((await stat(home)).mode & 0o777).toBe(0o755);
  });

  it("reopens the same data without migrating again", async () => {
    const home = await tempDir("kernflow-home-");
    cleanups.push(home.remove);
    const first = await openDatabase({ env: { KERNFLOW_HOME: home.dir } });
    await first.prisma.plan.create({
      data: { name: "kept", maxDevices: 1, maxFlowsPerSecond: 1, retentionDays: 1 },
    });
    await first.close();

    const messages: string[] = [];
    const second = await openDatabase({ env: { KERNFLOW_HOME: home.dir }, log: (m) => messages.push(m) });
    cleanups.push(() => second.close());
    expect((await second.prisma.plan.findMany()).map((p) => p.name)).toEqual(["kept"]);
    expect(messages.filter((m) => m.startsWith("applied ") || m.startsWith("creating database"))).toEqual([]);
  });
});

describe("openDatabase with DATABASE_URL", () => {
  let external: ExternalServer;
  beforeAll(async () => {
    external = await startExternalServer();
  });
  afterAll(async () => {
    await external?.stop();
  });

  it("migrates and uses that server, and leaves it running on close", async () => {
    await sql(external.urlFor("postgres"), "CREATE DATABASE console");
    const url = external.urlFor("console");
    const db = await openDatabase({ env: { DATABASE_URL: url, KERNFLOW_HOME: "/nonexistent/never-used" } });
    cleanups.push(() => db.close());

    expect(db.embedded).toBe(false);
    expect(db.url).toBe(url);
    await db.prisma.user.create({
      data: { email: "op@example.com", name: "Op", passwordHash: "x", role: "admin" },
    });
    // Read back through a plain connection: the row really is on the external server.
    expect(await sql(url, "SELECT email, role::text FROM users")).toEqual([
      { email: "op@example.com", role: "admin" },
    ]);
    const applied = await sql<{ name: string }>(url, `SELECT name FROM "_kernflow_migrations" ORDER BY name`);
    expect(applied.map((r) => r.name)).toEqual(
      (await readMigrations(defaultMigrationsDir())).map((m) => m.name),
    );
    if (external.kind === "debian-postgresql-15") {
      const [v] = await sql<{ v: string }>(url, "SELECT current_setting('server_version') AS v");
      expect(v?.v).toMatch(/^15\./);
    }

    await db.close();
    expect(await sql(url, "SELECT count(*)::int AS n FROM users")).toEqual([{ n: 1 }]);
  });

  it("reports a server that cannot be reached, without printing the password", async () => {
    const port = await freePort();
    const url = `postgresql://postgres:${external.password}@127.0.0.1:${port}/console`;
    const error = await openDatabase({ env: { DATABASE_URL: url } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnreachableError);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as Error).message).not.toContain(external.password);
  });

  it("reports a wrong password as unreachable with the server's reason", async () => {
    const url = external.urlFor("postgres").replace(external.password, "wrong-password");
    const error = await openDatabase({ env: { DATABASE_URL: url } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnreachableError);
    expect((error as Error).message).toMatch(/password authentication failed/);
  });
});
