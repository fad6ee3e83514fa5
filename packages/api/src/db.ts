import type { PrismaClient } from "@kernflow/db";

export type Db = PrismaClient;
// What an interactive transaction callback receives: the client minus the calls that only make sense at the top
// level (the same list Prisma itself removes).
export type Tx = Omit<PrismaClient, "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends">;

/** Unique-constraint violation (Prisma P2002), optionally on a given column. */
export function isUniqueViolation(error: unknown): boolean {
  return prismaErrorCode(error) === "P2002";
}

/** A serializable transaction lost a race with a concurrent one (Prisma P2034). */
export function isSerializationFailure(error: unknown): boolean {
  return prismaErrorCode(error) === "P2034";
}

function prismaErrorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
