import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import {
  agentPaths,
  checkedFlowRecords,
  checkFlowBatchJson,
  type FlowBatch,
  FlowBatchRejection,
} from "@kernflow/protocol";
import { z } from "zod";

const gunzipAsync = promisify(gunzip);

/** A compressed body larger than this is refused before it is read whole. */
const maxBodyBytes = 64 << 20;
/** The most a batch may inflate to: 100 000 records of a few hundred bytes each, with room. */
const maxInflatedBytes = 256 << 20;
/** Batch ids remembered per aggregator, so an agent retrying a batch whose answer it lost is not doubled. */
const rememberedBatches = 200_000;

export class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export interface FlowReceiver {
  /** Throws an HttpRefusal (e.g. 429 when the forward queue is full) to refuse the whole batch. */
  accept(batch: FlowBatch, credential: string): void;
  metrics(): unknown;
}

export interface ReceiverStats {
  batches_received: number;
  batches_duplicate: number;
  records_received: number;
  refused: Record<string, number>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBodyBytes)
    throw new HttpRefusal(413, "payload_too_large", `body of ${declared} bytes exceeds ${maxBodyBytes}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes)
      throw new HttpRefusal(413, "payload_too_large", `body exceeds ${maxBodyBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const bearer = z
  .string()
  .regex(/^Bearer \S+$/i, "Authorization must be 'Bearer <credential>'")
  .transform((h) => h.slice(7));

/**
 * Parses one flow-batch POST with the console's own reader (checkFlowBatchJson): gzip or plain JSON, packed
 * or whole records; packed records are unpacked here, as the join works on whole records.
 */
export async function parseFlowBatchRequest(
  req: IncomingMessage,
): Promise<{ batch: FlowBatch; credential: string }> {
  const auth = bearer.safeParse(req.headers.authorization ?? "");
  if (!auth.success)
    throw new HttpRefusal(401, "unauthenticated", "a device credential is required (Authorization: Bearer)");
  const raw = await readBody(req);
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
  let text: string;
  if (encoding === "gzip") {
    try {
      text = (await gunzipAsync(raw, { maxOutputLength: maxInflatedBytes })).toString("utf8");
    } catch (error) {
      throw new HttpRefusal(400, "bad_request", `body is not valid gzip: ${(error as Error).message}`);
    }
  } else if (encoding === "identity") text = raw.toString("utf8");
  else throw new HttpRefusal(400, "bad_request", `unsupported Content-Encoding "${encoding}"; use gzip`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HttpRefusal(400, "bad_request", `body is not JSON: ${(error as Error).message}`);
  }
  try {
    const checked = checkFlowBatchJson(json);
    return {
      batch: { batch_id: checked.batch.batch_id, records: checkedFlowRecords(checked) },
      credential: auth.data,
    };
  } catch (error) {
    if (error instanceof FlowBatchRejection) throw new HttpRefusal(400, "bad_request", error.message);
    throw error;
  }
}

/**
 * The aggregator's HTTP face: the agent protocol's flow-batch path (so a capture agent points at the
 * aggregator instead of the console), `/metrics` (JSON) and `/healthz`.
 */
export function createAggregatorServer(receiver: FlowReceiver, stats: ReceiverStats): Server {
  const seen = new Map<string, true>();
  const refuse = (reason: string) => {
    stats.refused[reason] = (stats.refused[reason] ?? 0) + 1;
  };
  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/metrics") return sendJson(res, 200, receiver.metrics());
    if (req.method === "GET" && path === "/healthz") return sendJson(res, 200, { ok: true });
    if (path !== agentPaths.flows) {
      return sendJson(res, 404, {
        error: { code: "not_found", message: `the aggregator serves POST ${agentPaths.flows}` },
      });
    }
    if (req.method !== "POST") {
      return sendJson(
        res,
        405,
        { error: { code: "method_not_allowed", message: "use POST" } },
        { allow: "POST" },
      );
    }
    parseFlowBatchRequest(req)
      .then(({ batch, credential }) => {
        const key = `${credential}\n${batch.batch_id}`;
        if (seen.has(key)) {
          stats.batches_duplicate++;
          return sendJson(res, 200, { accepted: batch.records.length, duplicate: true });
        }
        receiver.accept(batch, credential);
        seen.set(key, true);
        if (seen.size > rememberedBatches) seen.delete(seen.keys().next().value as string);
        stats.batches_received++;
        stats.records_received += batch.records.length;
        sendJson(res, 200, { accepted: batch.records.length, duplicate: false });
      })
      .catch((error: unknown) => {
        if (error instanceof HttpRefusal) {
          refuse(error.code);
          return sendJson(
            res,
            error.status,
            { error: { code: error.code, message: error.message } },
            error.retryAfterSeconds === undefined ? {} : { "retry-after": String(error.retryAfterSeconds) },
          );
        }
        refuse("internal");
        sendJson(res, 500, { error: { code: "internal", message: (error as Error).message } });
      });
  });
}
