import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { DatabaseUnreachableError, MigrationChecksumError, MigrationFailedError } from "./errors";
import { defaultMigrationsDir } from "./paths";

export interface MigrateOptions {
  log?: (message: string) => void;
  /** Folder of `<name>/migration.sql` files; defaults to the repository's prisma/migrations. */
  migrationsDir?: string;
}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

// One fixed key for every kernflow console: whichever process gets the lock first migrates, the others
// wait and then find nothing left to do. ("kfmg" as an integer, to be recognisable in pg_locks.)
export const MIGRATION_LOCK_KEY = 0x6b666d67;

const MIGRATIONS_TABLE = "_kernflow_migrations";

export async function readMigrations(migrationsDir: string): Promise<MigrationFile[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const sql = await readFile(path.join(migrationsDir, name, "migration.sql"), "utf8").catch(
      (error: NodeJS.ErrnoException) => {
        // Prisma keeps only migration folders here; a folder without the file is a mistake worth stopping on.
        throw new Error(`migration folder ${name} has no readable migration.sql: ${error.message}`);
      },
    );
    files.push({ name, sql, checksum: createHash("sha256").update(sql).digest("hex") });
  }
  return files;
}

/**
 * Applies every migration not yet recorded in the database, in name order, each in its own transaction,
 * while holding a PostgreSQL advisory lock so several console processes can start at once.
 */
export async function migrate(
  databaseUrl: string,
  options: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  const log = options.log ?? (() => {});
  const migrations = await readMigrations(options.migrationsDir ?? defaultMigrationsDir());

  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
  } catch (error) {
    // The connection never opened; ending it can only fail the same way, and the connect error says why.
    await client.end().catch(() => undefined);
    throw new DatabaseUnreachableError(databaseUrl, error);
  }

  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    try {
      return await applyPending(client, migrations, log);
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await client.end();
  }
}

async function applyPending(
  client: pg.Client,
  migrations: MigrationFile[],
  log: (message: string) => void,
): Promise<{ applied: string[] }> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (
       "name" TEXT PRIMARY KEY,
       "checksum" TEXT NOT NULL,
       "applied_at" TIMESTAMPTZ NOT NULL DEFAULT now()
     )`,
  );
  const { rows } = await client.query<{ name: string; checksum: string }>(
    `SELECT "name", "checksum" FROM "${MIGRATIONS_TABLE}"`,
  );
  const done = new Map(rows.map((r) => [r.name, r.checksum]));

  // Check every applied file before applying anything, so an edited history stops the start-up untouched.
  for (const m of migrations) {
    const recorded = done.get(m.name);
    if (recorded !== undefined && recorded !== m.checksum) {
      throw new MigrationChecksumError(m.name, recorded, m.checksum);
    }
  }
  const known = new Set(migrations.map((m) => m.name));
  for (const name of done.keys()) {
    if (!known.has(name))
      log(`database has migration ${name}, which this version does not know (a newer console?)`);
  }

  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.name)) continue;
    log(`applying migration ${m.name}`);
    await client.query("BEGIN");
    try {
      await client.query(m.sql);
      await client.query(`INSERT INTO "${MIGRATIONS_TABLE}" ("name", "checksum") VALUES ($1, $2)`, [
        m.name,
        m.checksum,
      ]);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK");
      throw new MigrationFailedError(m.name, error);
    }
    applied.push(m.name);
  }
  return { applied };
}
