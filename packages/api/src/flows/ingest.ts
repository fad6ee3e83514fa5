// POST agentPaths.flows: one batch of flow records from an authenticated device (the agent protocol
// dispatcher authenticates and calls ingestFlowBatch). Strict: a single bad record rejects the whole batch
// (400, naming the record), nothing is half-written, and a retried batch id is stored only once.
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import type { FlowStore } from "@kernflow/db";
import {
  type FlowBatch,
  type FlowBatchResponse,
  flowBatchSchema,
  flowRecordSchema,
  packFlowBatch,
  parseRecordTime,
} from "@kernflow/protocol";
import type { Db } from "../db";
import {
  DomainError,
  InvalidInputError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
} from "../errors";
import { exportRecords } from "../export/console-exporter";
import { readBodyLimited } from "../http/body";
import { errorBody, jsonResponse, restErrorResponse } from "../rest/error-response";
import { FlowRateLimiter } from "./rate-limit";

/** Compressed body limit: a full batch (100k records) compresses to well under this. */
export const MAX_FLOW_BATCH_BYTES = 32 * 1024 * 1024;
/** Decompressed limit, so a small gzip bomb cannot fill memory. 100k records of ~1 KiB fit. */
export const MAX_FLOW_BATCH_DECOMPRESSED_BYTES = 160 * 1024 * 1024;
/** Records dated further ahead than this are refused (clock skew is allowed, nonsense is not). */
const MAX_FUTURE_MS = 10 * 60 * 1000;
const DAY_MS = 86_400_000;

const gunzipAsync = promisify(gunzip);

export interface IngestDeps {
  db: Db;
  flowStore: FlowStore;
  device: { id: string; name: string; planId: string };
  /** Defaults to the plan buckets in the database, shared by every console process. */
  limiter?: FlowRateLimiter;
  now?: () => Date;
}

export async function ingestFlowBatch(deps: IngestDeps, request: Request): Promise<Response> {
  try {
    const batch = await readFlowBatch(request);
    const plan = await deps.db.plan.findUnique({
      where: { id: deps.device.planId },
      select: { maxFlowsPerSecond: true, retentionDays: true },
    });
    if (!plan) throw new NotFoundError("Plan", deps.device.planId);
    checkRecords(batch, deps.device.name, plan.retentionDays, (deps.now ?? (() => new Date()))());

    const limiter = deps.limiter ?? new FlowRateLimiter(deps.db);
    const count = batch.records.length;
    const { retryAfterSeconds } = await limiter.take(deps.device.planId, plan.maxFlowsPerSecond, count);
    if (retryAfterSeconds > 0) {
      throw new RateLimitedError(
        `plan allows ${plan.maxFlowsPerSecond} flow records/s; keep the batch and retry after ${retryAfterSeconds} s`,
        new Date(Date.now() + retryAfterSeconds * 1000),
      );
    }
    let result: FlowBatchResponse;
    try {
      result = await deps.flowStore.writeBatch(
        deps.device.id,
        deps.device.planId,
        packFlowBatch(batch.batch_id, batch.records),
      );
    } catch (error) {
      // The write's error is the answer; a refund that fails too only leaves the tokens spent.
      await limiter.refund(deps.device.planId, count).catch(() => {});
      throw error;
    }
    if (result.duplicate) await limiter.refund(deps.device.planId, count);
    // Stored first, then exported (a retried batch only once); the agent does not wait for collectors.
    else void exportRecords(deps.db, deps.device.planId, batch.records);
    return jsonResponse(result, 200);
  } catch (error) {
    if (error instanceof DomainError) return restErrorResponse(error);
    console.error("[kernflow api] flow ingest failed", error);
    return jsonResponse(errorBody("INTERNAL_SERVER_ERROR", "flow batch not stored; retry later"), 500);
  }
}

/** Reads, decompresses (gzip or identity) and parses a batch, with both size limits. */
export async function readFlowBatch(request: Request): Promise<FlowBatch> {
  const body = await readBodyLimited(request, MAX_FLOW_BATCH_BYTES);
  const encoding = (request.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  let json: Uint8Array;
  if (encoding === "gzip" || encoding === "x-gzip") {
    try {
      json = await gunzipAsync(body, { maxOutputLength: MAX_FLOW_BATCH_DECOMPRESSED_BYTES });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        throw new PayloadTooLargeError(MAX_FLOW_BATCH_DECOMPRESSED_BYTES);
      }
      throw new InvalidInputError(`body is not valid gzip: ${(error as Error).message}`);
    }
  } else if (encoding === "identity") {
    json = body;
  } else {
    throw new InvalidInputError(`Content-Encoding ${encoding} is not supported; send gzip or no encoding`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(json));
  } catch (error) {
    throw new InvalidInputError(`body is not JSON: ${(error as Error).message}`);
  }
  if (isCertainlyValidBatch(raw)) return raw;
  // Anything the fast check is unsure of goes through the schema itself, which also words the rejection.
  const parsed = flowBatchSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  // Name the first bad record by index, so the agent's log says which one and why.
  const issue = parsed.error.issues[0];
  if (!issue) throw new InvalidInputError("flow batch is invalid");
  const [head, index, ...rest] = issue.path;
  if (head === "records" && typeof index === "number") {
    const field = rest.length > 0 ? `${rest.join(".")}: ` : "";
    throw new InvalidInputError(`batch rejected: record ${index}: ${field}${issue.message}`);
  }
  throw new InvalidInputError(`batch rejected: ${issue.path.join(".") || "(body)"}: ${issue.message}`);
}

/**
 * A device writes only its own records: `device` must be its name (an aggregator forwarding records of
 * other devices would need its own kind of credential; it is refused, not rewritten, so nothing is
 * silently attributed to the wrong device). Timestamps must fall inside the plan's retention and not in the
 * future, which also bounds how many partitions one batch can create.
 */
function checkRecords(batch: FlowBatch, deviceName: string, retentionDays: number, now: Date): void {
  const latest = now.getTime() + MAX_FUTURE_MS;
  const earliest = now.getTime() - retentionDays * DAY_MS;
  batch.records.forEach((r, i) => {
    if (r.device !== deviceName) {
      throw new InvalidInputError(
        `batch rejected: record ${i}: device is "${r.device}" but the credential is device "${deviceName}"`,
      );
    }
    const start = parseRecordTime(r.ts_start);
    if (start > latest) throw new InvalidInputError(`batch rejected: record ${i}: ts_start is in the future`);
    if (start < earliest) {
      throw new InvalidInputError(
        `batch rejected: record ${i}: ts_start is older than the plan's ${retentionDays}-day retention`,
      );
    }
  });
}

// A compiled-by-hand check of flowBatchSchema, for speed: zod's object parse costs ~20 µs per record, more
// than the database write. It only ever answers "valid" for input the schema accepts (it is as strict or
// stricter: every string format is checked by the schema's own field schema, integers must be safe); on
// false the caller runs the schema, so rejections and their messages are the schema's. Keep it in step
// with packages/protocol/src/flow-record.ts (the flows tests compare both on valid and invalid batches).
const recordShape = flowRecordSchema.shape;
const recordKeys = new Set(Object.keys(recordShape));
const endpointKeys = new Set(Object.keys(recordShape.src.shape));
const batchIdSchema = flowBatchSchema.shape.batch_id;
const timestampSchema = recordShape.ts_start;
const addressSchema = recordShape.src_addr;
// z.ipv4()'s pattern, so the common case needs no schema call; other addresses go through the schema.
const ipv4Pattern =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;
const MAX_BATCH_RECORDS = 100_000;

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
  return typeof v === "string" && (ipv4Pattern.test(v) || addressSchema.safeParse(v).success);
}
function isEndpoint(e: unknown): boolean {
  if (!isPlainObject(e) || !hasExactKeys(e, endpointKeys)) return false;
  if (e.pid !== null && !intIn(e.pid, 0, Number.MAX_SAFE_INTEGER)) return false;
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
function isRecord(r: unknown): boolean {
  if (!isPlainObject(r) || !hasExactKeys(r, recordKeys)) return false;
  const { ts_start, ts_end } = r;
  if (typeof ts_start !== "string" || typeof ts_end !== "string" || ts_end < ts_start) return false;
  if (!timestampSchema.safeParse(ts_start).success || !timestampSchema.safeParse(ts_end).success)
    return false;
  return (
    typeof r.device === "string" &&
    r.device.length > 0 &&
    typeof r.interface === "string" &&
    r.interface.length > 0 &&
    (r.vantage === "src" || r.vantage === "dst") &&
    (r.direction === "ingress" || r.direction === "egress") &&
    intIn(r.protocol, 0, 255) &&
    isAddress(r.src_addr) &&
    isAddress(r.dst_addr) &&
    intIn(r.src_port, 0, 65535) &&
    intIn(r.dst_port, 0, 65535) &&
    intIn(r.bytes, 0, Number.MAX_SAFE_INTEGER) &&
    intIn(r.packets, 0, Number.MAX_SAFE_INTEGER) &&
    intIn(r.sample_rate, 1, Number.MAX_SAFE_INTEGER) &&
    intIn(r.tcp_flags, 0, 0xfff) &&
    intIn(r.retransmits, 0, Number.MAX_SAFE_INTEGER) &&
    (r.rtt_us === null || intIn(r.rtt_us, 0, Number.MAX_SAFE_INTEGER)) &&
    (r.app_latency_ms === null || (Number.isFinite(r.app_latency_ms) && (r.app_latency_ms as number) >= 0)) &&
    nullableString(r.cluster_id) &&
    isEndpoint(r.src) &&
    isEndpoint(r.dst)
  );
}
const batchKeys = new Set(["batch_id", "records"]);
export function isCertainlyValidBatch(raw: unknown): raw is FlowBatch {
  if (!isPlainObject(raw) || !hasExactKeys(raw, batchKeys)) return false;
  const records = raw.records;
  if (!Array.isArray(records) || records.length > MAX_BATCH_RECORDS) return false;
  if (!batchIdSchema.safeParse(raw.batch_id).success) return false;
  for (const r of records) if (!isRecord(r)) return false;
  return true;
}
