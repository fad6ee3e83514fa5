// Writing one flow batch: the idempotency row, the raw records (COPY or unnest) and the per-minute rollup
// upsert, all in one transaction, so a batch is either wholly stored and remembered or not at all.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type FlowRecord, parseRecordTime } from "@kernflow/protocol";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { columnType, recordColumns, recordRow, rollupDimensions } from "./columns";
import { dayStart, FLOW_SCHEMA, type PartitionManager } from "./partitions";

export type WriteMethod = "copy" | "unnest";

export interface WriteBatchInput {
  deviceId: string;
  planId: string;
  batchId: string;
  records: readonly FlowRecord[];
}
export interface WriteBatchResult {
  /** Records stored by this call, or by the earlier call when the batch is a duplicate. */
  accepted: number;
  duplicate: boolean;
}

/** What a store's writer remembers between batches (per store, as it is per database). */
export interface WriterState {
  partitions: PartitionManager;
  knownDims: KnownDims;
}

export async function writeBatch(
  pool: pg.Pool,
  state: WriterState,
  input: WriteBatchInput,
  method: WriteMethod,
): Promise<WriteBatchResult> {
  const days = new Set<number>();
  for (const r of input.records) days.add(dayStart(parseRecordTime(r.ts_start)));
  await state.partitions.ensureDays(input.planId, days);

  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    // A concurrent retry of the same batch waits here on the uncommitted key, then sees the conflict.
    const inserted = await client.query(
      `INSERT INTO ${FLOW_SCHEMA}.batches (batch_id, device_id, plan_id, records) VALUES ($1, $2, $3, $4)
       ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id`,
      [input.batchId, input.deviceId, input.planId, input.records.length],
    );
    if (inserted.rowCount === 0) {
      const earlier = await client.query<{ records: number }>(
        `SELECT records FROM ${FLOW_SCHEMA}.batches WHERE batch_id = $1`,
        [input.batchId],
      );
      await client.query("ROLLBACK");
      return { accepted: earlier.rows[0]?.records ?? 0, duplicate: true };
    }
    let newDims: string[] = [];
    if (input.records.length > 0) {
      if (method === "copy") await copyRecords(client, input);
      else await insertRecordsUnnest(client, input);
      newDims = await upsertRollup(client, input, state.knownDims);
    }
    await client.query("COMMIT");
    state.knownDims.remember(newDims);
    return { accepted: input.records.length, duplicate: false };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

// COPY text format: tab-separated, \N for null, backslash escapes for the four special characters. Most
// strings need no escaping; testing first keeps the per-record cost low (this runs for every record).
const needsEscape = /[\\\n\r\t]/;
function copyText(value: string | number | null): string {
  if (value === null) return "\\N";
  if (typeof value === "number") return String(value);
  if (!needsEscape.test(value)) return value;
  return value.replace(/[\\\n\r\t]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t",
  );
}

function endpointText(e: FlowRecord["src"]): string {
  return `${copyText(e.pid)}\t${copyText(e.process_name)}\t${copyText(e.process_cmdline)}\t${copyText(e.container_id)}\t${copyText(e.container_name)}\t${copyText(e.node)}\t${copyText(e.object_name)}\t${copyText(e.object_namespace)}\t${copyText(e.object_type)}\t${copyText(e.workload_name)}\t${copyText(e.workload_namespace)}\t${e.object_labels === null ? "\\N" : copyText(JSON.stringify(e.object_labels))}`;
}

/** One COPY line in {@link recordColumns} order (the same order as recordRow, which the unnest writer uses). */
export function copyLine(r: FlowRecord, prefix: string): string {
  return `${prefix}${r.ts_start}\t${r.ts_end}\t${copyText(r.device)}\t${r.vantage}\t${copyText(r.interface)}\t${r.direction}\t${r.protocol}\t${r.src_addr}\t${r.dst_addr}\t${r.src_port}\t${r.dst_port}\t${r.bytes}\t${r.packets}\t${r.sample_rate}\t${r.tcp_flags}\t${r.retransmits}\t${copyText(r.rtt_us)}\t${copyText(r.app_latency_ms)}\t${endpointText(r.src)}\t${endpointText(r.dst)}\t${copyText(r.cluster_id)}\n`;
}

// COPY data goes out in ~64 KiB pieces, each one join of its lines: measured 2-4x cheaper per record than
// growing one string to 1 MiB with += (a deep rope that V8 must flatten, and that leaves the CPU cache).
const COPY_CHUNK_CHARS = 1 << 16;

function* chunked(lines: Iterable<string>): Generator<string> {
  let parts: string[] = [];
  let size = 0;
  for (const line of lines) {
    parts.push(line);
    size += line.length;
    if (size >= COPY_CHUNK_CHARS) {
      yield parts.join("");
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) yield parts.join("");
}

function* copyLines(input: WriteBatchInput): Generator<string> {
  const prefix = `${input.planId}\t${input.deviceId}\t`;
  for (const record of input.records) yield copyLine(record, prefix);
}

async function copyRecords(client: pg.PoolClient, input: WriteBatchInput): Promise<void> {
  const stream = client.query(
    copyFrom(`COPY ${FLOW_SCHEMA}.records (${recordColumns.join(", ")}) FROM STDIN`),
  );
  await pipeline(Readable.from(chunked(copyLines(input))), stream);
}

async function insertRecordsUnnest(client: pg.PoolClient, input: WriteBatchInput): Promise<void> {
  const columns: (string | number | null)[][] = recordColumns.map(() => []);
  for (const record of input.records) {
    const row = recordRow(record, input.planId, input.deviceId);
    for (let i = 0; i < row.length; i++) (columns[i] as (string | number | null)[]).push(row[i] ?? null);
  }
  const casts = recordColumns.map((c, i) => `$${i + 1}::${columnType(c)}[]`).join(", ");
  await client.query(
    `INSERT INTO ${FLOW_SCHEMA}.records (${recordColumns.join(", ")}) SELECT * FROM unnest(${casts})`,
    columns,
  );
}

interface RollupRow {
  minute: number;
  key: string;
  dims: (string | number | null)[];
  records: number;
  bytes: number;
  packets: number;
  retransmits: number;
}

type DimValue = string | number | null;

/** One reader per rollup dimension, resolved once (not by string surgery on the name for every record). */
const rollupReaders: readonly ((r: FlowRecord) => DimValue)[] = rollupDimensions.map((d) => {
  if (d.startsWith("src_")) {
    const field = d.slice(4) as keyof FlowRecord["src"];
    return (r: FlowRecord) => r.src[field] as string | null;
  }
  if (d.startsWith("dst_")) {
    const field = d.slice(4) as keyof FlowRecord["dst"];
    return (r: FlowRecord) => r.dst[field] as string | null;
  }
  const field = d as "device" | "vantage" | "interface" | "direction" | "protocol" | "cluster_id";
  return (r: FlowRecord) => r[field];
});

/**
 * The in-memory grouping key of a record's minute and dimension values: length-prefixed strings ("-" for
 * null), so two different value lists never give the same key, without JSON-serialising every record.
 * The stored dims_key (an md5 of the values' JSON) is computed once per distinct value list, not per record.
 */
function dimsId(record: FlowRecord): string {
  let id = "";
  for (const read of rollupReaders) {
    const v = read(record);
    id += v === null ? "|-" : typeof v === "number" ? `|#${v}` : `|${v.length}:${v}`;
  }
  return id;
}

/** Sums the batch per minute and rollup dimensions in memory, then adds those sums to the stored ones. */
async function upsertRollup(
  client: pg.PoolClient,
  input: WriteBatchInput,
  knownDims: KnownDims,
): Promise<string[]> {
  const groups = new Map<string, RollupRow>();
  const keys = new Map<string, string>();
  for (const record of input.records) {
    const minute = Math.floor(parseRecordTime(record.ts_start) / 60_000) * 60_000;
    const dimsPart = dimsId(record);
    const id = `${minute}${dimsPart}`;
    let row = groups.get(id);
    if (!row) {
      const dims = rollupReaders.map((read) => read(record));
      let key = keys.get(dimsPart);
      if (key === undefined) {
        key = dimsKey(JSON.stringify(dims));
        keys.set(dimsPart, key);
      }
      row = { minute, key, dims, records: 0, bytes: 0, packets: 0, retransmits: 0 };
      groups.set(id, row);
    }
    row.records += 1;
    row.bytes += record.bytes * record.sample_rate;
    row.packets += record.packets * record.sample_rate;
    row.retransmits += record.retransmits;
  }
  const rows = [...groups.values()];
  // The dimension values of keys not yet known to this process go to flows.rollup_dims (once per key for
  // all time); the sums go to the rollup. Both through COPY into session-temporary staging tables (emptied
  // at every commit): serialising thousands of rows as array parameters costs more than the database work.
  const newKeys = new Map<string, (string | number | null)[]>();
  for (const r of rows) if (!knownDims.has(r.key)) newKeys.set(r.key, r.dims);
  await client.query(
    `CREATE TEMP TABLE IF NOT EXISTS flow_rollup_stage (LIKE ${FLOW_SCHEMA}.rollup_1m) ON COMMIT DELETE ROWS;
     CREATE TEMP TABLE IF NOT EXISTS flow_dims_stage (LIKE ${FLOW_SCHEMA}.rollup_dims) ON COMMIT DELETE ROWS`,
  );
  if (newKeys.size > 0) {
    const dimColumns = ["dims_key", ...rollupDimensions];
    await copyInto(
      client,
      `flow_dims_stage (${dimColumns.join(", ")})`,
      [...newKeys].map(([key, dims]) => [key, ...dims]),
    );
    // Sorted so concurrent writers take the key locks in one order (no deadlock).
    await client.query(
      `INSERT INTO ${FLOW_SCHEMA}.rollup_dims (${dimColumns.join(", ")})
       SELECT ${dimColumns.join(", ")} FROM flow_dims_stage ORDER BY dims_key ON CONFLICT (dims_key) DO NOTHING`,
    );
  }
  const sumColumns = ["plan_id", "minute", "dims_key", "records", "bytes", "packets", "retransmits"];
  await copyInto(
    client,
    `flow_rollup_stage (${sumColumns.join(", ")})`,
    rows.map((r) => [
      input.planId,
      new Date(r.minute).toISOString(),
      r.key,
      r.records,
      r.bytes,
      r.packets,
      r.retransmits,
    ]),
  );
  await client.query(
    `INSERT INTO ${FLOW_SCHEMA}.rollup_1m (${sumColumns.join(", ")})
     SELECT ${sumColumns.join(", ")} FROM flow_rollup_stage ORDER BY minute, dims_key
     ON CONFLICT (plan_id, minute, dims_key) DO UPDATE SET
       records = rollup_1m.records + EXCLUDED.records, bytes = rollup_1m.bytes + EXCLUDED.bytes,
       packets = rollup_1m.packets + EXCLUDED.packets, retransmits = rollup_1m.retransmits + EXCLUDED.retransmits`,
  );
  // The 5-minute tier from the same staged sums; epoch arithmetic, so the slots do not depend on the
  // session's time zone.
  await client.query(
    `INSERT INTO ${FLOW_SCHEMA}.rollup_5m (${sumColumns.join(", ")})
     SELECT plan_id, to_timestamp(floor(date_part('epoch', minute) / 300) * 300) AS slot, dims_key,
            sum(records), sum(bytes), sum(packets), sum(retransmits)
       FROM flow_rollup_stage GROUP BY plan_id, slot, dims_key ORDER BY slot, dims_key
     ON CONFLICT (plan_id, minute, dims_key) DO UPDATE SET
       records = rollup_5m.records + EXCLUDED.records, bytes = rollup_5m.bytes + EXCLUDED.bytes,
       packets = rollup_5m.packets + EXCLUDED.packets, retransmits = rollup_5m.retransmits + EXCLUDED.retransmits`,
  );
  return [...newKeys.keys()];
}

async function copyInto(
  client: pg.PoolClient,
  target: string,
  rows: (string | number | null)[][],
): Promise<void> {
  const lines = rows.map((row) => `${row.map(copyText).join("\t")}\n`);
  await pipeline(Readable.from(chunked(lines)), client.query(copyFrom(`COPY ${target} FROM STDIN`)));
}

/**
 * Dimension keys stored in flows.rollup_dims: they are never deleted, so once committed a key need not be
 * sent again. Bounded so a churning fleet (pod names change on every deploy) cannot grow it without limit;
 * forgetting only costs a redundant insert.
 */
export class KnownDims {
  private readonly keys = new Set<string>();
  constructor(private readonly max = 200_000) {}
  has(key: string): boolean {
    return this.keys.has(key);
  }
  remember(keys: readonly string[]): void {
    if (this.keys.size + keys.length > this.max) this.keys.clear();
    for (const k of keys) this.keys.add(k);
  }
}

/** A stable uuid-shaped hash of the rollup dimension values (the upsert key). */
function dimsKey(dimsJson: string): string {
  const h = createHash("md5").update(dimsJson).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
