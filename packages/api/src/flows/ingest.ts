// POST agentPaths.flows: one batch of flow records from an authenticated device (the agent protocol
// dispatcher authenticates and calls ingestFlowBatch). Strict: a single bad record rejects the whole batch
// (400, naming the record), nothing is half-written, and a retried batch id is stored only once.
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import type { FlowStore } from "@kernflow/db";
import {
  columnMicros,
  FlowBatchRejection,
  type FlowBatchResponse,
  type PackedFlowBatch,
  packedRecordCount,
  parseFlowBatchJson,
  parseRecordTimeMicros,
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
import { type IngestGate, processIngestGate } from "./ingest-gate";
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
  /** How many batches are worked on at once; defaults to this process's gate (ingest-gate.ts). */
  gate?: IngestGate;
  now?: () => Date;
}

export async function ingestFlowBatch(deps: IngestDeps, request: Request): Promise<Response> {
  try {
    // Read before the gate: a slow or stalled upload holds its own request only, never a slot others need.
    const body = await readBodyLimited(request, MAX_FLOW_BATCH_BYTES);
    return await (deps.gate ?? processIngestGate).run(body.byteLength, () =>
      storeFlowBatch(deps, body, request.headers.get("content-encoding")),
    );
  } catch (error) {
    if (error instanceof DomainError) return restErrorResponse(error);
    console.error("[kernflow api] flow ingest failed", error);
    return jsonResponse(errorBody("INTERNAL_SERVER_ERROR", "flow batch not stored; retry later"), 500);
  }
}

/** Reads, checks, rate-limits and stores one batch; errors are the caller's to answer. */
async function storeFlowBatch(
  deps: IngestDeps,
  body: Uint8Array,
  contentEncoding: string | null,
): Promise<Response> {
  const batch = await decodeFlowBatch(body, contentEncoding);
  const plan = await deps.db.plan.findUnique({
    where: { id: deps.device.planId },
    select: { maxFlowsPerSecond: true, retentionDays: true },
  });
  if (!plan) throw new NotFoundError("Plan", deps.device.planId);
  checkRecords(batch, deps.device.name, plan.retentionDays, (deps.now ?? (() => new Date()))());

  const limiter = deps.limiter ?? new FlowRateLimiter(deps.db);
  const count = packedRecordCount(batch);
  const { retryAfterSeconds } = await limiter.take(deps.device.planId, plan.maxFlowsPerSecond, count);
  if (retryAfterSeconds > 0) {
    throw new RateLimitedError(
      `plan allows ${plan.maxFlowsPerSecond} flow records/s; keep the batch and retry after ${retryAfterSeconds} s`,
      new Date(Date.now() + retryAfterSeconds * 1000),
    );
  }
  let result: FlowBatchResponse;
  try {
    result = await deps.flowStore.writeBatch(deps.device.id, deps.device.planId, batch);
  } catch (error) {
    // The write's error is the answer; a refund that fails too only leaves the tokens spent.
    await limiter.refund(deps.device.planId, count).catch((refundError: unknown) => {
      console.error("[kernflow api] flow tokens of a failed write not given back", refundError);
    });
    throw error;
  }
  if (result.duplicate) await limiter.refund(deps.device.planId, count);
  // Stored first, then exported (a retried batch only once); the agent does not wait for collectors. The
  // batch is unpacked into whole records only if the plan has an enabled export target.
  else void exportRecords(deps.db, deps.device.planId, batch);
  return jsonResponse(result, 200);
}

/**
 * Decompresses (gzip or identity) and checks a body of any form (packed, whole records or the previous row
 * layout; all but the first are packed here), within the decompressed size limit. A bad batch is refused
 * naming its first bad record and field.
 */
async function decodeFlowBatch(body: Uint8Array, contentEncoding: string | null): Promise<PackedFlowBatch> {
  const encoding = (contentEncoding ?? "identity").trim().toLowerCase();
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
    // Buffer's UTF-8 decoding (same replacement of bad sequences as TextDecoder) measured ~20% cheaper.
    raw = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString("utf8"));
  } catch (error) {
    throw new InvalidInputError(`body is not JSON: ${(error as Error).message}`);
  }
  try {
    return parseFlowBatchJson(raw);
  } catch (error) {
    if (error instanceof FlowBatchRejection) throw new InvalidInputError(error.message);
    throw error;
  }
}

/**
 * A device writes only its own records: `device` must be its name (an aggregator forwarding records of
 * other devices would need its own kind of credential; it is refused, not rewritten, so nothing is
 * silently attributed to the wrong device). Timestamps must fall inside the plan's retention and not in the
 * future, which also bounds how many partitions one batch can create. Reads the packed columns in place:
 * the device once per context (a record's device is its context's), the times in one pass over ts_start.
 */
function checkRecords(batch: PackedFlowBatch, deviceName: string, retentionDays: number, now: Date): void {
  const { contexts, columns } = batch;
  for (const [c, { device }] of contexts.entries()) {
    if (device !== deviceName) {
      // Named by its first record, as a batch of whole records is; a context no record uses is still refused.
      const first = columns.context.indexOf(c);
      throw new InvalidInputError(
        `batch rejected: ${first < 0 ? `context ${c}` : `record ${first}`}: device is "${device}" but the credential is device "${deviceName}"`,
      );
    }
  }
  const latestUs = (now.getTime() + MAX_FUTURE_MS) * 1000;
  const earliestUs = (now.getTime() - retentionDays * DAY_MS) * 1000;
  const starts = columns.ts_start;
  // Read by the batch check already (remembered per column); a time not in the canonical form (NaN there,
  // valid by the schema all the same) is read here.
  const micros = columnMicros(starts);
  for (let i = 0; i < starts.length; i++) {
    let startUs = micros[i] as number;
    if (Number.isNaN(startUs)) startUs = parseRecordTimeMicros(starts[i] as string);
    if (startUs > latestUs)
      throw new InvalidInputError(`batch rejected: record ${i}: ts_start is in the future`);
    if (startUs < earliestUs) {
      throw new InvalidInputError(
        `batch rejected: record ${i}: ts_start is older than the plan's ${retentionDays}-day retention`,
      );
    }
  }
}
