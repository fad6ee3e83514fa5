import { startConfigChangeRelay } from "@kernflow/api";
import { createPrismaClient } from "@kernflow/db";
import { z } from "zod";

type PrismaClient = ReturnType<typeof createPrismaClient>;

const databaseUrlSchema = z
  .string({ error: "DATABASE_URL is not set: start the console with `npm start`, which provides it" })
  .regex(/^postgres(ql)?:\/\/.+/, "DATABASE_URL must be a postgres:// or postgresql:// URL");

// One client per server process. It is created on first use, not at import, because `next build`
// loads the route modules without a database; kept on globalThis because Next may evaluate a route
// module more than once per process.
const holder = globalThis as typeof globalThis & { kernflowPrisma?: PrismaClient };

export function serverDb(): PrismaClient {
  if (!holder.kernflowPrisma) {
    const url = databaseUrlSchema.parse(process.env.DATABASE_URL);
    holder.kernflowPrisma = createPrismaClient(url);
    // Config changes made in this process reach agents long-polling on other console processes, and back.
    startConfigChangeRelay(url).catch((error: unknown) =>
      console.error("[kernflow] config-change relay unavailable; changes stay local to this process", error),
    );
  }
  return holder.kernflowPrisma;
}
