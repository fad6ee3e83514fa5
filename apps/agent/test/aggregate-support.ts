/** Real HTTP parties around the aggregator in tests: a console stand-in that reads every batch with the
 * protocol's reader (as the console does, either form), a kubetags server speaking the kubetags protocol, an
 * agent-side poster, and the aggregator itself started in this process. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import {
  agentPaths,
  checkedFlowRecords,
  checkFlowBatchJson,
  type FlowBatch,
  FlowBatchRejection,
  type FlowRecord,
  type KubeContainerEntry,
  type KubeIpEntry,
  kubeChangesQuerySchema,
  kubeSnapshotSchema,
  kubetagsPaths,
  type PackedFlowBatch,
} from "@kernflow/protocol";
import { type AggregateMetrics, type AggregateOptions, runAggregate } from "../src/roles/aggregate";

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface ReceivedBatch {
  credential: string;
  batch: FlowBatch;
  /** The body's form as sent: aggregators forward packed (whole records to a console refusing packed). */
  form: "packed" | "records";
}

/**
 * A console stand-in: stores batches idempotently by (credential, batch_id) like the console's ingest,
 * refuses unknown credentials with 401, and can be told to fail the next N requests with 503, to refuse
 * packed batches with 400 as a console that does not read the column layout does, or to refuse with 400, in
 * either form, a batch holding a record it calls bad (as the console does a record from a clock ahead).
 */
export class ConsoleStandIn {
  readonly batches: ReceivedBatch[] = [];
  readonly requests: { batchId: string; status: number }[] = [];
  failNext = 0;
  refusePacked = false;
  refuseRecord: ((record: FlowRecord) => boolean) | null = null;
  private server: Server | null = null;
  url = "";

  constructor(private readonly credentials: ReadonlySet<string>) {}

  get records(): (FlowRecord & { credential: string })[] {
    return this.batches.flatMap(({ credential, batch }) => batch.records.map((r) => ({ ...r, credential })));
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const answer = (status: number, body: unknown, batchId = "") => {
        this.requests.push({ batchId, status });
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method !== "POST" || req.url !== agentPaths.flows)
        return answer(404, { error: { code: "not_found", message: req.url } });
      const credential = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      if (req.headers["content-encoding"] !== "gzip")
        return answer(400, { error: { code: "bad_request", message: "expected gzip" } });
      let batch: FlowBatch;
      let form: ReceivedBatch["form"];
      try {
        const checked = checkFlowBatchJson(JSON.parse((await gunzipAsync(Buffer.concat(chunks))).toString()));
        batch = { batch_id: checked.batch.batch_id, records: checkedFlowRecords(checked) };
        form = checked.form;
      } catch (error) {
        if (!(error instanceof FlowBatchRejection)) throw error;
        return answer(400, { error: { code: "bad_request", message: error.message } });
      }
      const batchId = batch.batch_id;
      const bad = this.refuseRecord === null ? -1 : batch.records.findIndex(this.refuseRecord);
      if (bad >= 0)
        return answer(
          400,
          {
            error: {
              code: "bad_request",
              message: `batch rejected: record ${bad}: ts_start is in the future`,
            },
          },
          batchId,
        );
      if (this.refusePacked && form === "packed")
        return answer(
          400,
          { error: { code: "bad_request", message: "batch rejected: records: Required" } },
          batchId,
        );
      if (this.failNext > 0) {
        this.failNext--;
        return answer(503, { error: { code: "unavailable", message: "stand-in told to fail" } }, batchId);
      }
      if (!this.credentials.has(credential))
        return answer(401, { error: { code: "unauthenticated", message: "unknown credential" } }, batchId);
      const duplicate = this.batches.some((b) => b.credential === credential && b.batch.batch_id === batchId);
      if (!duplicate) this.batches.push({ credential, batch, form });
      answer(200, { accepted: batch.records.length, duplicate }, batchId);
    });
    this.url = await listen(this.server);
    return this;
  }

  async stop(): Promise<void> {
    if (this.server) await close(this.server);
  }
}

/** A kubetags server built from the protocol schemas: snapshot, long-polled changes, 410 on a stale epoch. */
export class KubetagsStandIn {
  private server: Server | null = null;
  url = "";
  readonly epoch = `e${Date.now()}`;
  version = 1;
  private readonly ips = new Map<string, KubeIpEntry>();
  private readonly containers = new Map<string, KubeContainerEntry>();
  private history: { version: number; ip?: KubeIpEntry; container?: KubeContainerEntry }[] = [];
  private waiters: (() => void)[] = [];
  snapshots = 0;

  constructor(ips: KubeIpEntry[], containers: KubeContainerEntry[]) {
    for (const e of ips) this.ips.set(e.ip, e);
    for (const e of containers) this.containers.set(e.container_id, e);
  }

  upsertIp(entry: KubeIpEntry): void {
    this.version++;
    this.ips.set(entry.ip, entry);
    this.history.push({ version: this.version, ip: entry });
    for (const wake of this.waiters.splice(0)) wake();
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === kubetagsPaths.snapshot) {
        this.snapshots++;
        return json(
          200,
          kubeSnapshotSchema.parse({
            epoch: this.epoch,
            version: this.version,
            ips: [...this.ips.values()],
            containers: [...this.containers.values()],
          }),
        );
      }
      if (url.pathname === kubetagsPaths.changes) {
        const query = kubeChangesQuerySchema.parse(Object.fromEntries(url.searchParams));
        if (query.epoch !== this.epoch)
          return json(410, { error: { code: "snapshot_required", message: "other epoch" } });
        if (query.since >= this.version && query.wait_ms > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, query.wait_ms);
            this.waiters.push(() => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
        const newer = this.history.filter((h) => h.version > query.since);
        return json(200, {
          epoch: this.epoch,
          version: this.version,
          since: query.since,
          ips: { upserted: newer.flatMap((h) => (h.ip ? [h.ip] : [])), removed: [] },
          containers: { upserted: newer.flatMap((h) => (h.container ? [h.container] : [])), removed: [] },
        });
      }
      json(404, { error: { code: "not_found", message: url.pathname } });
    });
    this.url = await listen(this.server);
    return this;
  }

  async stop(): Promise<void> {
    for (const wake of this.waiters.splice(0)) wake();
    if (this.server) await close(this.server);
  }
}

/** What a capture agent does when it ships: a gzip JSON FlowBatch with its credential. */
export async function postBatch(
  baseUrl: string,
  credential: string,
  batch: FlowBatch | PackedFlowBatch,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(agentPaths.flows, baseUrl), {
    method: "POST",
    headers: {
      authorization: `Bearer ${credential}`,
      "content-type": "application/json",
      "content-encoding": "gzip",
    },
    body: await gzipAsync(JSON.stringify(batch)),
  });
  return { status: response.status, body: await response.json() };
}

/** Polls until `check` returns true or fails with `what`. */
export async function eventually(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface RunningAggregator {
  url: string;
  /** Stops it and resolves with its final metrics; `stopped` tells whether that was asked already. */
  stop: () => Promise<AggregateMetrics>;
  readonly stopped: boolean;
  metrics: () => Promise<AggregateMetrics>;
}

/** runAggregate in this process on a free port of 127.0.0.1, once it listens. Unless `options` say
 * otherwise it flushes every 50 ms and logs nothing. */
export async function startAggregator(
  options: Pick<AggregateOptions, "serverUrl" | "joinWindowMs" | "maxEntries"> & Partial<AggregateOptions>,
): Promise<RunningAggregator> {
  const stop = new AbortController();
  let url = "";
  const done = runAggregate(
    {
      listenHost: "127.0.0.1",
      listenPort: 0,
      flushMs: 50,
      log: () => {},
      onListening: ({ port }) => {
        url = `http://127.0.0.1:${port}`;
      },
      ...options,
    },
    stop.signal,
  );
  await eventually("the aggregator to listen", () => url !== "");
  return {
    url,
    stop: async () => {
      stop.abort();
      return done;
    },
    get stopped() {
      return stop.signal.aborted;
    },
    metrics: async () => (await (await fetch(`${url}/metrics`)).json()) as AggregateMetrics,
  };
}
