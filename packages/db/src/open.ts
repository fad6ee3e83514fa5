import path from "node:path";
import pg from "pg";
import { z } from "zod";
import { createPrismaClient } from "./client";
import type { EmbeddedPostgresServer } from "./embedded";
import { startEmbeddedPostgres } from "./embedded";
import { DatabaseUnreachableError, InvalidDatabaseConfigError, redactDatabaseUrl } from "./errors";
import type { PrismaClient } from "./generated/prisma/client";
import { migrate } from "./migrate";
import { findRepoRoot } from "./paths";

const CONSOLE_DATABASE = "kernflow";
const CONNECT_TIMEOUT_MS = 10_000;

const postgresUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      return ["postgres:", "postgresql:"].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, "must be a URL like postgresql://USER:PASSWORD@HOST:5432/DATABASE");

const envSchema = z.object({
  DATABASE_URL: z.preprocess((v) => (v === "" ? undefined : v), postgresUrl.optional()),
  KERNFLOW_HOME: z.preprocess((v) => (v === "" ? undefined : v), z.string().optional()),
  KERNFLOW_EMBEDDED_PG_PORT: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.coerce.number().int().min(1).max(65535).optional(),
  ),
});

export interface OpenDatabaseOptions {
  env?: Record<string, string | undefined>;
  log?: (message: string) => void;
}

export interface OpenDatabase {
  url: string;
  prisma: PrismaClient;
  /** Whether this process started its own PostgreSQL (no DATABASE_URL). */
  embedded: boolean;
  /** Disconnects Prisma and, when embedded, stops the server. */
  close(): Promise<void>;
}

export function parseDatabaseEnv(env: Record<string, string | undefined>) {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new InvalidDatabaseConfigError(`invalid database settings: ${problems}`);
  }
  return {
    databaseUrl: parsed.data.DATABASE_URL,
    home: path.resolve(parsed.data.KERNFLOW_HOME ?? path.join(findRepoRoot(), ".kernflow")),
    embeddedPort: parsed.data.KERNFLOW_EMBEDDED_PG_PORT,
  };
}

/**
 * The console's database, ready to use: the server named by DATABASE_URL, or else an embedded PostgreSQL
 * with its data under $KERNFLOW_HOME/postgres; migrated either way.
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<OpenDatabase> {
  const log = options.log ?? (() => {});
  const config = parseDatabaseEnv(options.env ?? process.env);

  let server: EmbeddedPostgresServer | undefined;
  let url: string;
  if (config.databaseUrl) {
    url = config.databaseUrl;
    await assertReachable(url);
    log(`using PostgreSQL at ${redactDatabaseUrl(url)}`);
  } else {
    const dataDir = path.join(config.home, "postgres");
    server = await startEmbeddedPostgres({ dataDir, port: config.embeddedPort });
    log(`embedded PostgreSQL started on 127.0.0.1:${server.port} with data in ${dataDir}`);
    url = server.urlFor(CONSOLE_DATABASE);
  }

  try {
    if (server) await ensureDatabase(server.url, CONSOLE_DATABASE, log);
    const { applied } = await migrate(url, { log });
    if (applied.length > 0) log(`applied ${applied.length} migration(s): ${applied.join(", ")}`);
  } catch (error) {
    await server?.stop();
    throw error;
  }

  const prisma = createPrismaClient(url);
  let closed: Promise<void> | undefined;
  return {
    url,
    prisma,
    embedded: server !== undefined,
    close: () => {
      closed ??= (async () => {
        try {
          await prisma.$disconnect();
        } finally {
          await server?.stop();
        }
      })();
      return closed;
    },
  };
}

async function assertReachable(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    throw new DatabaseUnreachableError(url, error);
  } finally {
    // After a failed connect, end() fails the same way; the error thrown above already says why.
    await client.end().catch(() => undefined);
  }
}

async function ensureDatabase(
  serverUrl: string,
  name: string,
  log: (message: string) => void,
): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!rowCount) {
      log(`creating database ${name}`);
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    }
  } finally {
    await client.end();
  }
}
