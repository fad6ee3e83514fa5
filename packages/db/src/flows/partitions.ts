// Partitions of the flow tables: flows.<table> → one LIST partition per plan → one RANGE partition per UTC
// day. Created on demand by the writer (the batch's days plus the next day ahead) and dropped whole by
// retention. Names carry the plan and the day so retention can read them back from the catalog.
import type pg from "pg";

export const FLOW_SCHEMA = "flows";
/** The partitioned tables and the column each one's days are ranged on. */
export const partitionedTables = { records: "ts_start", rollup_1m: "minute", rollup_5m: "minute" } as const;
export type PartitionedTable = keyof typeof partitionedTables;

const DAY_MS = 86_400_000;

function planTag(planId: string): string {
  return planId.replaceAll("-", "").toLowerCase();
}
export function planPartitionName(table: PartitionedTable, planId: string): string {
  return `${table}_${planTag(planId)}`;
}
export function dayPartitionName(table: PartitionedTable, planId: string, dayStartMs: number): string {
  return `${planPartitionName(table, planId)}_${new Date(dayStartMs).toISOString().slice(0, 10).replaceAll("-", "")}`;
}

export function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Creates (if missing) the partitions holding the given days of a plan, and the day after the last one, so
 * the next interval's batches find theirs ready. Remembers what exists per process; concurrent creators
 * (several console processes) are serialised by an advisory lock per plan.
 */
export class PartitionManager {
  private readonly known = new Set<string>();
  constructor(private readonly pool: pg.Pool) {}

  async ensureDays(planId: string, dayStarts: Iterable<number>): Promise<void> {
    if (!uuidPattern.test(planId)) throw new Error(`plan id ${planId} is not a uuid`);
    const wanted = new Set<number>();
    for (const d of dayStarts) {
      wanted.add(d);
      wanted.add(d + DAY_MS);
    }
    const missing = [...wanted].filter((d) => !this.known.has(`${planId}/${d}`));
    if (missing.length === 0) return;
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      // hashtext of the plan id: one lock per plan, so plans do not wait for each other.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('kernflow-flow-partitions:' || $1))", [
        planId,
      ]);
      for (const table of Object.keys(partitionedTables) as PartitionedTable[]) {
        const planTable = planPartitionName(table, planId);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${FLOW_SCHEMA}.${ident(planTable)} PARTITION OF ${FLOW_SCHEMA}.${table}
             FOR VALUES IN ('${planId}') PARTITION BY RANGE (${partitionedTables[table]})`,
        );
        for (const d of missing) {
          const from = new Date(d).toISOString();
          const to = new Date(d + DAY_MS).toISOString();
          const name = dayPartitionName(table, planId, d);
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${FLOW_SCHEMA}.${ident(name)} PARTITION OF ${FLOW_SCHEMA}.${ident(planTable)}
               FOR VALUES FROM ('${from}') TO ('${to}')`,
          );
          if (table === "records") {
            // Rows arrive roughly in time order, so a BRIN index narrows short ranges (live mode) for almost
            // no write cost.
            await client.query(
              `CREATE INDEX IF NOT EXISTS ${ident(`${name}_ts`)} ON ${FLOW_SCHEMA}.${ident(name)} USING brin (ts_start)`,
            );
          }
        }
      }
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    for (const d of missing) this.known.add(`${planId}/${d}`);
  }

  /** Forgets a dropped day so a late batch for it would recreate it. */
  forget(planId: string, dayStartMs: number): void {
    this.known.delete(`${planId}/${dayStartMs}`);
  }
}

export interface DayPartition {
  table: PartitionedTable;
  name: string;
  planId: string;
  dayStartMs: number;
}

const dayPartitionPattern = /^(records|rollup_1m|rollup_5m)_([0-9a-f]{32})_(\d{4})(\d{2})(\d{2})$/;

/** The day partitions that exist, read from the catalog. */
export async function listDayPartitions(client: pg.Pool | pg.PoolClient): Promise<DayPartition[]> {
  const { rows } = await client.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relispartition`,
    [FLOW_SCHEMA],
  );
  const out: DayPartition[] = [];
  for (const { relname } of rows) {
    const m = dayPartitionPattern.exec(relname);
    if (!m) continue;
    const hex = m[2] as string;
    const planId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    out.push({
      table: m[1] as PartitionedTable,
      name: relname,
      planId,
      dayStartMs: Date.UTC(Number(m[3]), Number(m[4]) - 1, Number(m[5])),
    });
  }
  return out.sort((a, b) => a.dayStartMs - b.dayStartMs || a.name.localeCompare(b.name));
}

/**
 * Where a write of rows of one plan goes: the day partition itself when every row falls in that one day
 * (PostgreSQL then routes no row; it still checks each against the partition's bounds), else the table,
 * which routes each row. Measured on 10k-record batches: the records' COPY 37.5 → 31.4 ms.
 */
export function writeTarget(table: PartitionedTable, planId: string, day: number | null): string {
  return day === null ? `${FLOW_SCHEMA}.${table}` : qualified(dayPartitionName(table, planId, day));
}

export function qualified(name: string): string {
  return `${FLOW_SCHEMA}.${ident(name)}`;
}
export const DAY_MILLISECONDS = DAY_MS;
