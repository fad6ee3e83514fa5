import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type KubetagsHealth,
  type KubetagsMetrics,
  kubeChangesQuerySchema,
  kubetagsPaths,
} from "@kernflow/protocol";
import type { KubeMetadataIndex } from "./metadata-index";

export interface KubetagsHttpSource {
  index: KubeMetadataIndex;
  health(): KubetagsHealth;
  metrics(): KubetagsMetrics;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(text);
}

/**
 * Sends a large value (a snapshot of 150k entries is ~50 MB of JSON) as a stream of chunks of at most
 * {@link entriesPerChunk} array items, waiting for the socket to drain between them. One
 * `JSON.stringify` of the whole snapshot made a string that size plus its growing copies, and V8 kept
 * the pages it took: kubetags' resident memory rose by ~100 MiB with every snapshot an aggregator
 * fetched. The entries are immutable (the index replaces them, never changes them), so the arrays
 * taken at the call are a consistent copy even when events are applied while the stream is sent.
 */
async function sendJsonStreamed(res: ServerResponse, status: number, body: unknown): Promise<void> {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  if (res.req.method === "HEAD") {
    res.end();
    return;
  }
  for (const chunk of jsonChunks(body)) {
    if (res.destroyed) return;
    if (!res.write(chunk))
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
  }
  res.end();
}

const entriesPerChunk = 1000;

/** JSON text of `value` in pieces: plain objects and long arrays are opened up, everything else stringified whole. */
function* jsonChunks(value: unknown): Generator<string> {
  if (Array.isArray(value)) {
    if (value.length <= entriesPerChunk) {
      yield JSON.stringify(value);
      return;
    }
    for (let at = 0; at < value.length; at += entriesPerChunk) {
      const text = JSON.stringify(value.slice(at, at + entriesPerChunk));
      // Each slice's brackets become the whole array's: "[" first, "," between, "]" last.
      yield (at === 0 ? "[" : ",") + text.slice(1, -1) + (at + entriesPerChunk >= value.length ? "]" : "");
    }
    return;
  }
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    let first = true;
    yield "{";
    for (const [key, field] of Object.entries(value)) {
      if (field === undefined) continue;
      yield `${first ? "" : ","}${JSON.stringify(key)}:`;
      first = false;
      yield* jsonChunks(field);
    }
    yield "}";
    return;
  }
  yield JSON.stringify(value);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

async function handle(source: KubetagsHttpSource, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://kubetags");
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return sendError(res, 405, "method_not_allowed", `${req.method} is not allowed; use GET`);
  }
  switch (url.pathname) {
    case kubetagsPaths.snapshot:
      return sendJsonStreamed(res, 200, source.index.snapshot());
    case kubetagsPaths.changes: {
      const query = kubeChangesQuerySchema.safeParse(Object.fromEntries(url.searchParams));
      if (!query.success) {
        const issues = query.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
        return sendError(res, 400, "bad_request", `invalid changes query (${issues})`);
      }
      const { epoch, since, wait_ms } = query.data;
      if (source.index.changesSince(epoch, since) === null) return sendGone(source, res, epoch, since);
      const closed = new AbortController();
      res.on("close", () => closed.abort());
      await source.index.waitForChange(since, wait_ms, closed.signal);
      if (closed.signal.aborted) return;
      const changes = source.index.changesSince(epoch, since);
      if (changes === null) return sendGone(source, res, epoch, since);
      return sendJsonStreamed(res, 200, changes);
    }
    case kubetagsPaths.health: {
      const health = source.health();
      return sendJson(res, health.ok ? 200 : 503, health);
    }
    case kubetagsPaths.metrics:
      return sendJson(res, 200, source.metrics());
    default:
      return sendError(res, 404, "not_found", `no such path ${url.pathname}`);
  }
}

function sendGone(source: KubetagsHttpSource, res: ServerResponse, epoch: string, since: number): void {
  const { index } = source;
  const why =
    epoch !== index.epoch
      ? `epoch ${epoch} is not this kubetags' (${index.epoch}): it restarted`
      : since > index.version
        ? `version ${since} is ahead of this kubetags' ${index.version}`
        : `the deletions after version ${since} are no longer remembered`;
  sendError(res, 410, "snapshot_required", `${why}; fetch ${kubetagsPaths.snapshot}`);
}

/** Serves the maps, health and metrics; resolves with the bound address once listening. */
export async function serveKubetags(
  source: KubetagsHttpSource,
  host: string,
  port: number,
): Promise<{ server: Server; address: AddressInfo }> {
  const server = createServer((req, res) => {
    handle(source, req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, "internal", (error as Error).message);
      else res.destroy();
    });
  });
  // Long-polls are held up to 30 s; let a client's keep-alive outlive them.
  server.keepAliveTimeout = 35_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { server, address: server.address() as AddressInfo };
}
