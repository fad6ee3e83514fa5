/**
 * The one reader of a flow-batch body (already JSON-parsed) for every receiver: the console's ingest and the
 * aggregator. Both forms are accepted, packed ({@link packedFlowBatchSchema}, what agents send) and whole
 * records ({@link flowBatchSchema}, what NATS carries), and the packed row layout of the previous agent
 * version (row-layout.ts), checked as the whole records it decodes to, so agents and aggregators not yet
 * upgraded lose nothing.
 *
 * zod's parse costs ~20 µs per whole record, more than the database write, so each form first goes through
 * a hand-written check that only ever answers "valid" for input its schema accepts (it is as strict or
 * stricter: string formats it cannot decide cheaply go to the field's own schema, integers must be safe).
 * Only when it is unsure does the schema run, which also words the rejection. Keep both checks in step with
 * flow-record.ts and packed-batch.ts (flow-batch-check.test.ts compares them on valid and mutated batches).
 */
import { type FlowBatch, flowBatchSchema } from "./agent-protocol";
import { type FlowRecord, flowRecordSchema, INT32_MAX } from "./flow-record";
import {
  endpointIdentitySchema,
  flowContextSchema,
  isPackedBatchShape,
  isRowPackedBatchShape,
  MAX_BATCH_ENDPOINTS,
  MAX_BATCH_RECORDS,
  type PackedFlowBatch,
  packedColumnNames,
  packedFlowBatchSchema,
  packFlowBatch,
  unpackRecords,
} from "./packed-batch";
import { isCanonicalRecordTime, readColumnMicros } from "./record-time";
import { rowLayoutBatch } from "./row-layout";

/** The body is not a valid flow batch; the message names the first bad record (by index) and field. */
export class FlowBatchRejection extends Error {
  override readonly name = "FlowBatchRejection";
}

/** A checked batch in the form it arrived in, so a receiver that wants whole records does not repack. */
export type CheckedFlowBatch =
  | { form: "packed"; batch: PackedFlowBatch }
  | { form: "records"; batch: FlowBatch };

/** Checks a parsed body of either form; throws {@link FlowBatchRejection} saying what is wrong. */
export function checkFlowBatchJson(raw: unknown): CheckedFlowBatch {
  if (isPackedBatchShape(raw)) {
    if (isCertainlyValidPackedBatch(raw)) return { form: "packed", batch: raw };
    const parsed = packedFlowBatchSchema.safeParse(raw);
    if (parsed.success) return { form: "packed", batch: parsed.data };
    throw rejection(parsed.error.issues[0]);
  }
  if (isRowPackedBatchShape(raw)) return { form: "records", batch: checkWholeRecords(rowLayoutRecords(raw)) };
  return { form: "records", batch: checkWholeRecords(raw) };
}

/** A row-layout body (earlier agents and aggregators) as whole records, to be checked as such. */
function rowLayoutRecords(raw: unknown): unknown {
  try {
    return rowLayoutBatch(raw);
  } catch (error) {
    throw new FlowBatchRejection(`batch rejected: ${(error as Error).message}`);
  }
}

function checkWholeRecords(raw: unknown): FlowBatch {
  if (isCertainlyValidBatch(raw)) return raw;
  const parsed = flowBatchSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw rejection(parsed.error.issues[0]);
}

/** Checks a parsed body of either form and returns it packed (whole records are packed here). */
export function parseFlowBatchJson(raw: unknown): PackedFlowBatch {
  const checked = checkFlowBatchJson(raw);
  return checked.form === "packed"
    ? checked.batch
    : packFlowBatch(checked.batch.batch_id, checked.batch.records);
}

/** The records of a checked batch as whole records (unpacked only when they arrived packed). */
export function checkedFlowRecords(checked: CheckedFlowBatch): FlowRecord[] {
  return checked.form === "records" ? checked.batch.records : unpackRecords(checked.batch);
}

interface Issue {
  path: PropertyKey[];
  message: string;
}

/**
 * Words a schema issue by the record it concerns: `record 3: src_port: …` (whole records, and a column value
 * of a packed batch), `endpoint 2: node: …`, `context 1: device: …`.
 */
function rejection(issue: Issue | undefined): FlowBatchRejection {
  if (!issue) return new FlowBatchRejection("batch rejected: flow batch is invalid");
  const say = (what: string, index: PropertyKey, field: PropertyKey[]) =>
    new FlowBatchRejection(
      `batch rejected: ${what} ${String(index)}: ${field.length > 0 ? `${field.map(String).join(".")}: ` : ""}${issue.message}`,
    );
  const [head, a, b, ...rest] = issue.path;
  if (head === "columns" && typeof b === "number") return say("record", b, [a as PropertyKey, ...rest]);
  const tables: Record<string, string> = { records: "record", endpoints: "endpoint", contexts: "context" };
  if (typeof head === "string" && tables[head] && typeof a === "number") {
    return say(tables[head] as string, a, b === undefined ? [] : [b, ...rest]);
  }
  return new FlowBatchRejection(
    `batch rejected: ${issue.path.map(String).join(".") || "(body)"}: ${issue.message}`,
  );
}

const recordShape = flowRecordSchema.shape;
const recordKeys = new Set(Object.keys(recordShape));
const endpointKeys = new Set(Object.keys(recordShape.src.shape));
const identityKeys = new Set(Object.keys(endpointIdentitySchema.shape));
const batchIdSchema = flowBatchSchema.shape.batch_id;
const addressSchema = recordShape.src_addr;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
/** Exactly the keys of a strict object (JSON has no undefined values, so own keys are the fields). */
function hasExactKeys(o: Record<string, unknown>, keys: ReadonlySet<string>): boolean {
  let n = 0;
  for (const k in o) {
    if (!Object.hasOwn(o, k) || !keys.has(k)) return false;
    n++;
  }
  return n === keys.size;
}
function intIn(v: unknown, min: number, max: number): boolean {
  return Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
}
function nullableString(v: unknown): boolean {
  return v === null || typeof v === "string";
}
function isAddress(v: unknown): boolean {
  return typeof v === "string" && (isDottedQuad(v) || addressSchema.safeParse(v).success);
}
/**
 * What z.ipv4()'s pattern accepts (four decimal parts 0–255, no leading zeros), read by character: ~5× cheaper
 * than the regular expression, and it runs twice per record. Anything else goes to the schema.
 */
function isDottedQuad(text: string): boolean {
  const n = text.length;
  if (n < 7 || n > 15) return false;
  let parts = 0;
  let value = 0;
  let digits = 0;
  let first = 0;
  for (let i = 0; i <= n; i++) {
    const code = i === n ? 46 : text.charCodeAt(i);
    if (code === 46) {
      if (digits === 0 || value > 255 || (digits > 1 && first === 0)) return false;
      parts++;
      value = 0;
      digits = 0;
    } else {
      const d = code - 48;
      if (d < 0 || d > 9 || digits === 3) return false;
      if (digits === 0) first = d;
      value = value * 10 + d;
      digits++;
    }
  }
  return parts === 4;
}
/** Both times in canonical form and ts_end ≥ ts_start compared as the schema compares them (as text). */
function isTimeRange(start: unknown, end: unknown): boolean {
  return (
    typeof start === "string" &&
    typeof end === "string" &&
    end >= start &&
    isCanonicalRecordTime(start) &&
    isCanonicalRecordTime(end)
  );
}

/** An endpoint's fields except pid (checked by the caller: records carry it in the packed form). */
function isEndpointIdentityFields(e: Record<string, unknown>): boolean {
  if (e.object_type !== null && e.object_type !== "pod" && e.object_type !== "service") return false;
  const labels = e.object_labels;
  if (labels !== null) {
    if (!isPlainObject(labels)) return false;
    for (const k in labels) {
      // "__proto__" would not survive the schema's copy the same way: leave it to the schema.
      if (k === "__proto__" || !Object.hasOwn(labels, k) || typeof labels[k] !== "string") return false;
    }
  }
  return (
    nullableString(e.process_name) &&
    nullableString(e.process_cmdline) &&
    nullableString(e.container_id) &&
    nullableString(e.container_name) &&
    nullableString(e.node) &&
    nullableString(e.object_name) &&
    nullableString(e.object_namespace) &&
    nullableString(e.workload_name) &&
    nullableString(e.workload_namespace)
  );
}
function isPid(v: unknown): boolean {
  return v === null || intIn(v, 0, INT32_MAX);
}
function isEndpoint(e: unknown): boolean {
  return isPlainObject(e) && hasExactKeys(e, endpointKeys) && isPid(e.pid) && isEndpointIdentityFields(e);
}

const safeCounter = (v: unknown) => intIn(v, 0, MAX_SAFE);
const isPort = (v: unknown) => intIn(v, 0, 65535);
const isLatency = (v: unknown) => v === null || (Number.isFinite(v) && (v as number) >= 0);

function isRecord(r: unknown): boolean {
  if (!isPlainObject(r) || !hasExactKeys(r, recordKeys)) return false;
  return (
    isTimeRange(r.ts_start, r.ts_end) &&
    hasContextFields(r) &&
    isAddress(r.src_addr) &&
    isAddress(r.dst_addr) &&
    isPort(r.src_port) &&
    isPort(r.dst_port) &&
    safeCounter(r.bytes) &&
    safeCounter(r.packets) &&
    intIn(r.sample_rate, 1, INT32_MAX) &&
    intIn(r.tcp_flags, 0, 0xfff) &&
    safeCounter(r.retransmits) &&
    (r.rtt_us === null || safeCounter(r.rtt_us)) &&
    isLatency(r.app_latency_ms) &&
    isEndpoint(r.src) &&
    isEndpoint(r.dst)
  );
}

const batchKeys = new Set(["batch_id", "records"]);
/** Fast check of a whole-record batch: true only for input flowBatchSchema accepts unchanged. */
export function isCertainlyValidBatch(raw: unknown): raw is FlowBatch {
  if (!isPlainObject(raw) || !hasExactKeys(raw, batchKeys)) return false;
  const records = raw.records;
  if (!Array.isArray(records) || records.length > MAX_BATCH_RECORDS) return false;
  if (!batchIdSchema.safeParse(raw.batch_id).success) return false;
  for (const r of records) if (!isRecord(r)) return false;
  return true;
}

/** A record's own low-cardinality fields (a context's, or a whole record's), as flowContextSchema takes them. */
function hasContextFields(c: Record<string, unknown>): boolean {
  return (
    typeof c.device === "string" &&
    c.device.length > 0 &&
    typeof c.interface === "string" &&
    c.interface.length > 0 &&
    (c.vantage === "src" || c.vantage === "dst") &&
    (c.direction === "ingress" || c.direction === "egress") &&
    intIn(c.protocol, 0, 255) &&
    nullableString(c.cluster_id)
  );
}
const contextKeys = new Set(Object.keys(flowContextSchema.shape));
function isContext(c: unknown): boolean {
  return isPlainObject(c) && hasExactKeys(c, contextKeys) && hasContextFields(c);
}

/** Every value of a column passes `ok`. */
function all(column: readonly unknown[], ok: (v: unknown) => boolean): boolean {
  for (let i = 0; i < column.length; i++) if (!ok(column[i])) return false;
  return true;
}

/** The columns of a packed batch: all of one length, each value as its field's schema takes it. */
function isPackedColumns(columns: unknown, contexts: number, endpoints: number): boolean {
  if (!isPlainObject(columns) || !hasExactKeys(columns, columnKeys)) return false;
  const c = columns as Record<(typeof packedColumnNames)[number], unknown>;
  const n = Array.isArray(c.ts_start) ? c.ts_start.length : -1;
  if (n < 0 || n > MAX_BATCH_RECORDS) return false;
  for (const name of packedColumnNames) {
    const column = c[name];
    if (!Array.isArray(column) || column.length !== n) return false;
  }
  const starts = c.ts_start as unknown[];
  const ends = c.ts_end as unknown[];
  // Canonical (a number, not NaN) and ts_end ≥ ts_start compared as the schema compares them (as text).
  const startUs = readColumnMicros(starts);
  const endUs = readColumnMicros(ends);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(startUs[i]) || Number.isNaN(endUs[i]) || (ends[i] as string) < (starts[i] as string)) {
      return false;
    }
  }
  const below = (limit: number) => (v: unknown) => intIn(v, 0, limit - 1);
  const col = (name: (typeof packedColumnNames)[number]) => c[name] as unknown[];
  return (
    all(col("context"), below(contexts)) &&
    all(col("src_addr"), isAddress) &&
    all(col("dst_addr"), isAddress) &&
    all(col("src_port"), isPort) &&
    all(col("dst_port"), isPort) &&
    all(col("bytes"), safeCounter) &&
    all(col("packets"), safeCounter) &&
    all(col("sample_rate"), (v) => intIn(v, 1, INT32_MAX)) &&
    all(col("tcp_flags"), (v) => intIn(v, 0, 0xfff)) &&
    all(col("retransmits"), safeCounter) &&
    all(col("rtt_us"), (v) => v === null || safeCounter(v)) &&
    all(col("app_latency_ms"), isLatency) &&
    all(col("src_pid"), isPid) &&
    all(col("src"), below(endpoints)) &&
    all(col("dst_pid"), isPid) &&
    all(col("dst"), below(endpoints))
  );
}
const columnKeys = new Set<string>(packedColumnNames);

const packedBatchKeys = new Set(["batch_id", "endpoints", "contexts", "columns"]);
/**
 * Fast check of a packed batch: true only for input packedFlowBatchSchema accepts unchanged. Each endpoint
 * and context is checked once; per value only typeof and range checks, the canonical time form and the IPv4
 * pattern, a column at a time.
 */
export function isCertainlyValidPackedBatch(raw: unknown): raw is PackedFlowBatch {
  if (!isPlainObject(raw) || !hasExactKeys(raw, packedBatchKeys)) return false;
  const { endpoints, contexts } = raw;
  if (!Array.isArray(endpoints) || endpoints.length > MAX_BATCH_ENDPOINTS) return false;
  if (!Array.isArray(contexts) || contexts.length > MAX_BATCH_RECORDS) return false;
  if (!batchIdSchema.safeParse(raw.batch_id).success) return false;
  for (const e of endpoints) {
    if (!isPlainObject(e) || !hasExactKeys(e, identityKeys) || !isEndpointIdentityFields(e)) return false;
  }
  for (const c of contexts) if (!isContext(c)) return false;
  return isPackedColumns(raw.columns, contexts.length, endpoints.length);
}
