export { createPrismaClient } from "./client";
export type { EmbeddedPostgresOptions, EmbeddedPostgresServer } from "./embedded";
export { startEmbeddedPostgres } from "./embedded";
export * from "./errors";
export * from "./generated/prisma/client";
export type { MigrateOptions, MigrationFile } from "./migrate";
export { migrate, readMigrations } from "./migrate";
export type { OpenDatabase, OpenDatabaseOptions } from "./open";
export { openDatabase, parseDatabaseEnv } from "./open";
