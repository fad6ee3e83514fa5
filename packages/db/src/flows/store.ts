// The FlowStore: where flow records are written and read (ARCHITECTURE.md "packages/db"). This is the
// PostgreSQL implementation; a columnar store (ClickHouse) can implement the same interface later.
import type { FlowQuery, FlowQueryResult, PackedFlowBatch } from "@kernflow/protocol";
import pg from "pg";
import { PartitionManager } from "./partitions";
import { type FlowQueryScope, runFlowQuery } from "./query";
import { type PlannedQuery, planFlowQuery } from "./query-plan";
import { applyRetention, type PlanRetention, type RetentionResult } from "./retention";
import { createWriterState, type WriteBatchResult, writeBatch } from "./write";

export type { FlowQueryScope, PlannedQuery, PlanRetention, RetentionResult, WriteBatchResult };

export interface FlowStore {
  /**
   * Stores one batch of records of a device, once: a batch id already stored returns
   * `{ duplicate: true }` and writes nothing. Either every record is stored or none is. The batch must
   * already be valid (packedFlowBatchSchema or the ingest's equivalent check); pack whole records with
   * packFlowBatch.
   */
  writeBatch(deviceId: string, planId: string, batch: PackedFlowBatch): Promise<WriteBatchResult>;
  /** Answers a (parsed) flow query over the records the scope allows. */
  query(query: FlowQuery, scope?: FlowQueryScope): Promise<FlowQueryResult>;
  /** How a query would be answered (which table, what SQL), without running it. */
  planQuery(query: FlowQuery, scope?: FlowQueryScope): PlannedQuery;
  /** Drops every day partition older than its plan's retention; returns what was dropped. */
  applyRetention(plans: readonly PlanRetention[], now?: Date): Promise<RetentionResult>;
  close(): Promise<void>;
}

export interface FlowStoreOptions {
  /** Connections of the store's own pool (flow writes and queries are kept off Prisma's pool). */
  maxConnections?: number;
}

/**
 * A PostgreSQL flow store over its own connection pool on `databaseUrl` (the same database as Prisma; the
 * flow tables are in the `flows` schema, created by the migrations). A pg.Pool may be passed instead; it is
 * then not ended by close().
 */
export function createFlowStore(
  databaseUrlOrPool: string | pg.Pool,
  options: FlowStoreOptions = {},
): FlowStore {
  const ownPool = typeof databaseUrlOrPool === "string";
  const pool = ownPool
    ? new pg.Pool({ connectionString: databaseUrlOrPool, max: options.maxConnections ?? 4 })
    : databaseUrlOrPool;
  const partitions = new PartitionManager(pool);
  const writer = createWriterState(partitions);
  return {
    writeBatch: (deviceId, planId, batch) => writeBatch(pool, writer, { deviceId, planId, batch }),
    query: (query, scope) => runFlowQuery(pool, query, scope ?? {}),
    planQuery: (query, scope) => planFlowQuery(query, scope ?? {}),
    applyRetention: (plans, now) => applyRetention(pool, partitions, plans, now ?? new Date()),
    close: async () => {
      if (ownPool) await pool.end();
    },
  };
}
