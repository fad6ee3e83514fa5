// Writing one flow batch: the idempotency row, the batch's new endpoint identities, the raw records (binary
// COPY of narrow rows) and the per-minute rollup upsert, all in one transaction, so a batch is either
// wholly stored and remembered or not at all.
import { type PackedFlowBatch, packedRecordCount } from "@kernflow/protocol";
import type pg from "pg";
import { copyBinary } from "./binary-copy";
import { endpointIdentityColumns, recordColumns, rollupDimensions } from "./columns";
import { ContentDictionary } from "./dictionary";
import { FLOW_SCHEMA, type PartitionManager, writeTarget } from "./partitions";
import { encodeBatch } from "./record-rows";
import { upsertRollup } from "./rollup";

export interface WriteBatchInput {
  deviceId: string;
  planId: string;
  batch: Pick<PackedFlowBatch, "batch_id" | "endpoints" | "contexts" | "columns">;
}
export interface WriteBatchResult {
  /** Records stored by this call, or by the earlier call when the batch is a duplicate. */
  accepted: number;
  duplicate: boolean;
}

/** What a store's writer remembers between batches (per store, as it is per database). */
export interface WriterState {
  partitions: PartitionManager;
  rollupDims: ContentDictionary;
  endpoints: ContentDictionary;
}

export function createWriterState(partitions: PartitionManager): WriterState {
  return {
    partitions,
    rollupDims: new ContentDictionary(`${FLOW_SCHEMA}.rollup_dims`, "dims_key", rollupDimensions),
    endpoints: new ContentDictionary(`${FLOW_SCHEMA}.endpoints`, "endpoint_key", endpointIdentityColumns),
  };
}

export async function writeBatch(
  pool: pg.Pool,
  state: WriterState,
  input: WriteBatchInput,
): Promise<WriteBatchResult> {
  const count = packedRecordCount(input.batch);
  // All of the batch's CPU work happens before a connection is taken (a transaction open for less time).
  const rows = count > 0 ? encodeBatch(input.planId, input.deviceId, input.batch) : null;
  if (rows) await state.partitions.ensureDays(input.planId, rows.days);

  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    // A concurrent retry of the same batch waits here on the uncommitted key, then sees the conflict.
    const inserted = await client.query(
      `INSERT INTO ${FLOW_SCHEMA}.batches (batch_id, device_id, plan_id, records) VALUES ($1, $2, $3, $4)
       ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id`,
      [input.batch.batch_id, input.deviceId, input.planId, count],
    );
    if (inserted.rowCount === 0) {
      const earlier = await client.query<{ records: number }>(
        `SELECT records FROM ${FLOW_SCHEMA}.batches WHERE batch_id = $1`,
        [input.batch.batch_id],
      );
      await client.query("ROLLBACK");
      return { accepted: earlier.rows[0]?.records ?? 0, duplicate: true };
    }
    let newEndpoints: string[] = [];
    let newDims: string[] = [];
    if (rows) {
      newEndpoints = await state.endpoints.insertNew(client, rows.endpoints);
      const day = rows.days.size === 1 ? ([...rows.days][0] as number) : null;
      await copyBinary(
        client,
        `${writeTarget("records", input.planId, day)} (${recordColumns.join(", ")})`,
        rows.chunks,
      );
      newDims = await upsertRollup(client, input.planId, rows.rollup, state.rollupDims, day);
    }
    await client.query("COMMIT");
    state.endpoints.remember(newEndpoints);
    state.rollupDims.remember(newDims);
    return { accepted: count, duplicate: false };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
