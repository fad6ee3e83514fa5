// Test databases for every package's tests: one PostgreSQL server per test run (started by the vitest
// globalSetup, or lazily here outside vitest), one fresh migrated database per createTestDatabase() call.
import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createPrismaClient } from "./client";
import { startEmbeddedPostgres } from "./embedded";
import { ownerIsAlive, stopOrphanedServer } from "./embedded-data-dir";
import type { PrismaClient } from "./generated/prisma/client";
import { migrate, readMigrations } from "./migrate";
import { defaultMigrationsDir } from "./paths";

/** Admin URL of an external server to create test databases on, instead of an embedded one. */
export const EXTERNAL_TEST_SERVER_ENV = "KERNFLOW_TEST_DATABASE_URL";
/** Set by the vitest globalSetup for the workers (besides vitest's provide/inject). */
export const TEST_SERVER_URL_ENV = "KERNFLOW_TEST_SERVER_URL";
export const PROVIDED_TEST_SERVER_URL = "kernflowTestServerUrl";

declare module "vitest" {
  export interface ProvidedContext {
    kernflowTestServerUrl: string;
  }
}

export interface TestDatabase {
  /** URL of the new database (superuser credentials of the test server). */
  url: string;
  name: string;
  prisma: PrismaClient;
  /** Disconnects the client and drops the database. */
  cleanup(): Promise<void>;
}

export interface TestServer {
  url: string;
  stop(): Promise<void>;
}

const TEST_SERVER_PREFIX = "kernflow-test-pg-";
// A folder with no recorded owner is either being set up right now or was abandoned before its server
// started; only the latter is old.
const UNOWNED_AFTER_MS = 60 * 60 * 1000;

/**
 * Stops and removes the test servers of earlier runs that were killed before their teardown (their
 * owning process is gone), so temporary folders and orphaned servers do not pile up. Servers of runs
 * still going on are left alone. Returns the folders removed.
 */
export async function sweepAbandonedTestServers(log?: (message: string) => void): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(os.tmpdir())) {
    if (!name.startsWith(TEST_SERVER_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    const dataDir = path.join(dir, "data");
    const alive = await ownerIsAlive(dataDir);
    if (alive) continue;
    if (alive === undefined) {
      const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return undefined; // removed meanwhile by a concurrent sweep
        throw error;
      });
      if (!info || Date.now() - info.mtimeMs < UNOWNED_AFTER_MS) continue;
    }
    await stopOrphanedServer(dataDir, log ?? (() => {}));
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** An embedded PostgreSQL in a temporary folder, tuned for tests; stop() also removes the folder. */
export async function startTestServer(log?: (message: string) => void): Promise<TestServer> {
  await sweepAbandonedTestServers(log);
  const tmp = await mkdtemp(path.join(os.tmpdir(), TEST_SERVER_PREFIX));
  // mkdtemp makes the folder 0700; as root the server runs as `postgres`, which must be able to enter it.
  await chmod(tmp, 0o755);
  try {
    const server = await startEmbeddedPostgres({
      dataDir: path.join(tmp, "data"),
      ephemeral: true,
      // Every test worker holds a few Prisma pools at once.
      settings: { max_connections: "500" },
      log,
    });
    return {
      url: server.url,
      stop: async () => {
        await server.stop();
        await rm(tmp, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

let lazyServer: Promise<TestServer> | undefined;

/** Stops the server createTestDatabase started by itself outside vitest (none under vitest). */
export async function stopTestServer(): Promise<void> {
  const server = lazyServer;
  lazyServer = undefined;
  if (server) await (await server).stop();
}

async function testServerUrl(): Promise<string> {
  const fromEnv = process.env[TEST_SERVER_URL_ENV] ?? process.env[EXTERNAL_TEST_SERVER_ENV];
  if (fromEnv) return fromEnv;
  if (process.env.VITEST) {
    const { inject } = await import("vitest");
    const provided = inject(PROVIDED_TEST_SERVER_URL);
    if (provided) return provided;
  }
  lazyServer ??= startTestServer();
  return (await lazyServer).url;
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

async function withAdmin<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

// Migrating once into a template and copying it is cheaper than running every migration per test. The
// template's name carries the migrations' checksums, so an edited or added migration gets a new template.
const TEMPLATE_LOCK_KEY = 0x6b667464; // "kftd"

// Per process, the template is made (or found) once per server.
const templates = new Map<string, Promise<string>>();

function migratedTemplate(serverUrl: string): Promise<string> {
  let template = templates.get(serverUrl);
  if (!template) {
    template = ensureMigratedTemplate(serverUrl);
    // A failure is not cached: the next test tries again and reports its own error.
    template.catch(() => templates.delete(serverUrl));
    templates.set(serverUrl, template);
  }
  return template;
}

async function ensureMigratedTemplate(serverUrl: string): Promise<string> {
  const migrations = await readMigrations(defaultMigrationsDir());
  const digest = createHash("sha256");
  for (const m of migrations) digest.update(`${m.name}:${m.checksum}\n`);
  const name = `kernflow_template_${digest.digest("hex").slice(0, 16)}`;
  await withAdmin(serverUrl, async (admin) => {
    await admin.query("SELECT pg_advisory_lock($1)", [TEMPLATE_LOCK_KEY]);
    try {
      const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      if (exists.rowCount) return;
      // Built under a temporary name and renamed when complete, so a crash never leaves a half template.
      const building = `${name}_building`;
      await admin.query(`DROP DATABASE IF EXISTS "${building}"`);
      await admin.query(`CREATE DATABASE "${building}"`);
      await migrate(withDatabase(serverUrl, building));
      await admin.query(`ALTER DATABASE "${building}" RENAME TO "${name}"`);
    } finally {
      await admin.query("SELECT pg_advisory_unlock($1)", [TEMPLATE_LOCK_KEY]);
    }
  });
  return name;
}

/**
 * A new database with a random name on the shared test server, with every migration applied (or empty
 * with `migrated: false`, for tests of the migrator itself).
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = await testServerUrl();
  const template = options.migrated === false ? undefined : await migratedTemplate(serverUrl);
  const name = `kernflow_test_${randomBytes(8).toString("hex")}`;
  await withAdmin(serverUrl, (admin) =>
    admin.query(template ? `CREATE DATABASE "${name}" TEMPLATE "${template}"` : `CREATE DATABASE "${name}"`),
  );
  const url = withDatabase(serverUrl, name);
  const prisma = createPrismaClient(url);
  let cleaned: Promise<void> | undefined;
  return {
    url,
    name,
    prisma,
    cleanup: () => {
      cleaned ??= (async () => {
        await prisma.$disconnect();
        await withAdmin(serverUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      })();
      return cleaned;
    },
  };
}
