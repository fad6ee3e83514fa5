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
    holder.kernflowPrisma = createPrismaClient(databaseUrlSchema.parse(process.env.DATABASE_URL));
  }
  return holder.kernflowPrisma;
}
