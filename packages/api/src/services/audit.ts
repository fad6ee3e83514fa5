import type { Db, Tx } from "../db";

/** Who did something: a user (through a session or an API token) or the system itself (bootstrap). */
export interface Actor {
  userId: string | null;
  label: string;
  ip: string | null;
}

export interface AuditRecord {
  action: string;
  targetType: string;
  targetId?: string | null;
  details?: Record<string, unknown>;
}

// Always called with the transaction client of the change it records, so a change and its audit entry
// commit or roll back together.
export async function writeAudit(tx: Tx, actor: Actor, record: AuditRecord): Promise<void> {
  await tx.auditEntry.create({
    data: {
      actorId: actor.userId,
      actorLabel: actor.label,
      ip: actor.ip,
      action: record.action,
      targetType: record.targetType,
      targetId: record.targetId ?? null,
      details: (record.details ?? {}) as object,
    },
  });
}

export interface AuditQuery {
  limit: number;
  cursor?: string | undefined;
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
}

export interface AuditEntryView {
  id: string;
  at: Date;
  actorId: string | null;
  actorLabel: string;
  action: string;
  targetType: string;
  targetId: string | null;
  details: unknown;
  ip: string | null;
}

export async function listAuditEntries(
  db: Db,
  query: AuditQuery,
): Promise<{ items: AuditEntryView[]; nextCursor: string | null }> {
  // An action ending in "." is a prefix ("plans." = every plan change); anything else matches exactly.
  const action = query.action?.endsWith(".") ? { startsWith: query.action } : query.action;
  const rows = await db.auditEntry.findMany({
    where: {
      ...(action !== undefined ? { action } : {}),
      ...(query.targetType !== undefined ? { targetType: query.targetType } : {}),
      ...(query.targetId !== undefined ? { targetId: query.targetId } : {}),
      ...(query.cursor !== undefined ? { id: { lt: BigInt(query.cursor) } } : {}),
    },
    // The id grows with every insert, so it orders like `at` but has no ties and makes a stable cursor.
    orderBy: { id: "desc" },
    take: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const items = page.map((row) => ({
    id: row.id.toString(),
    at: row.at,
    actorId: row.actorId,
    actorLabel: row.actorLabel,
    action: row.action,
    targetType: row.targetType,
    targetId: row.targetId,
    details: row.details,
    ip: row.ip,
  }));
  const last = items.at(-1);
  return { items, nextCursor: rows.length > query.limit && last ? last.id : null };
}
