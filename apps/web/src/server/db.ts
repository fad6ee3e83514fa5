import { startConfigChangeRelay, stopConfigChangeRelay } from "@kernflow/api";
import { createPrismaClient } from "@kernflow/db";
import { z } from "zod";

type PrismaClient = ReturnType<typeof createPrismaClient>;

const databaseUrlSchema = z
  .string({ error: "DATABASE_URL is not set: start the console with `npm start`, which provides it" })
  .regex(/^postgres(ql)?:\/\/.+/, "DATABASE_URL must be a postgres:// or postgresql:// URL");

/** The database this server process uses, as the launcher handed it over. */
export function serverDatabaseUrl(): string {
  return databaseUrlSchema.parse(process.env.DATABASE_URL);
}

// One client per server process. It is created on first use, not at import, because `next build`
// loads the route modules without a database; kept on globalThis because Next may evaluate a route
// module more than once per process, and because the launcher (outside Next's bundle) closes it.
const holder = globalThis as typeof globalThis & { kernflowPrisma?: PrismaClient };

export function serverDb(): PrismaClient {
  if (!holder.kernflowPrisma) {
    const url = serverDatabaseUrl();
    holder.kernflowPrisma = createPrismaClient(url);
    // Config changes made in this process reach agents long-polling on other console processes, and back.
    startConfigChangeRelay(url).catch((error: unknown) =>
      console.error("[kernflow] config-change relay unavailable; changes stay local to this process", error),
    );
  }
  return holder.kernflowPrisma;
}

/** Stops the relay and disconnects the client (launcher shutdown, before PostgreSQL stops). */
export async function closeServerDb(): Promise<void> {
  await stopConfigChangeRelay();
  const prisma = holder.kernflowPrisma;
  holder.kernflowPrisma = undefined;
  await prisma?.$disconnect();
}
