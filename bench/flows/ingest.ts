/**
 * Flow ingest rate into PostgreSQL: how many flow records per second the console stores, two ways — the
 * store's writer (FlowStore.writeBatch of packed batches: binary COPY of narrow rows, endpoints once,
 * rollup upsert, idempotency row) and the whole ingest path (the gzip packed body agents send: gunzip, JSON
 * parse, checks, the store's write) — and the ceiling, "a plain COPY of the same rows": the same narrow rows,
 * binary, as the store writes them, into one unpartitioned table with no rollup, no endpoint dictionary and
 * no idempotency row.
 *
 *   npm run bench:flows:ingest -w @kernflow/bench -- [--records 200000] [--batch 10000] [--concurrency 4] [--json FILE]
 *
 * `--concurrency` batches are in flight at once, as when several agents ship at the same time. The default is
 * what one console process works on at once (DEFAULT_INGEST_CONCURRENCY, its ingest gate): fewer leave
 * cores idle, more wait at the gate in the whole path.
 *
 * Runs on a private embedded PostgreSQL in a temporary folder (removed at the end), opened the way the console
 * opens its own (openDatabase with KERNFLOW_HOME there): the same durable server settings (fsync, synchronous
 * commit and full-page writes on), not the tests' throw-away settings that switch them off. The npm script runs it
 * with the V8 flag the console is started with (`--max-semi-space-size=32`, scripts/start.sh); the first line
 * printed says which young generation this run had.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { DEFAULT_INGEST_CONCURRENCY, ingestFlowBatch } from "@kernflow/api";
import { createFlowStore, encodeBatchRows, openDatabase, recordColumns } from "@kernflow/db";
import { packFlowBatch } from "@kernflow/protocol";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { z } from "zod";
import { postgresServerCpu } from "../lab";
import { benchRecords } from "./records";

const flags = z
  .object({
    records: z.coerce.number().int().min(1000).max(5_000_000),
    batch: z.coerce.number().int().min(100).max(100_000),
    concurrency: z.coerce.number().int().min(1).max(16),
    json: z.string().min(1).optional(),
  })
  .parse(
    parseArgs({
      options: {
        records: { type: "string", default: "200000" },
        batch: { type: "string", default: "10000" },
        concurrency: { type: "string", default: String(DEFAULT_INGEST_CONCURRENCY) },
        json: { type: "string" },
      },
    }).values,
  );

const home = mkdtempSync(join(tmpdir(), "kernflow-bench-ingest-"));
// As root the server runs as `postgres`, which must be able to enter the folder (mkdtemp makes it 0700).
chmodSync(home, 0o755);
const database = await openDatabase({ env: { KERNFLOW_HOME: home } });
const pool = new pg.Pool({ connectionString: database.url, max: 2 });
const port = new URL(database.url).port;
const figures: Record<string, number> = {};

interface Timing {
  seconds: number;
  /** CPU seconds of this process (the console's side: gunzip, JSON, checks, COPY text, rollup grouping). */
  nodeCpu: number;
  /** CPU seconds of the PostgreSQL server's processes (COPY parsing, partition routing, upserts, WAL). */
  postgresCpu: number;
}

/** Runs `work` for every item with `flags.concurrency` in flight; returns the wall and CPU time taken. */
async function timed<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<Timing> {
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const postgresBefore = postgresServerCpu(port);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: flags.concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    seconds,
    nodeCpu: (cpu.user + cpu.system) / 1e6,
    postgresCpu: postgresServerCpu(port) - postgresBefore,
  };
}

/** Prints and records one writer's rate and where its CPU went, per record. */
function report(name: string, label: string, timing: Timing): void {
  const n = flags.records;
  const perRecord = (cpuSeconds: number) => (cpuSeconds * 1e6) / n;
  figures[`${name}_records_per_s`] = n / timing.seconds;
  figures[`${name}_node_cpu_us_per_record`] = perRecord(timing.nodeCpu);
  figures[`${name}_postgres_cpu_us_per_record`] = perRecord(timing.postgresCpu);
  console.log(
    `${label}: ${fmt(n / timing.seconds)} records/s; CPU per record: this process ${perRecord(timing.nodeCpu).toFixed(1)} µs, PostgreSQL ${perRecord(timing.postgresCpu).toFixed(1)} µs`,
  );
}
try {
  const now = Date.now();
  const records = benchRecords(flags.records, "bench-1", now - 3_600_000, 3_500_000, 7);
  const batches: (typeof records)[] = [];
  for (let i = 0; i < records.length; i += flags.batch) batches.push(records.slice(i, i + flags.batch));
  const semiSpace = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(" ")].find((a) =>
    a.startsWith("--max-semi-space-size"),
  );
  console.log(
    `${records.length} records in ${batches.length} batches of ${flags.batch}, ${flags.concurrency} in flight; V8 ${semiSpace ?? "default semi-space (16 MiB)"}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );

  const plan = async (name: string) =>
    (
      await database.prisma.plan.create({
        data: { name, maxDevices: 10, maxFlowsPerSecond: 100_000_000, retentionDays: 30 },
      })
    ).id;
  const device = async (name: string, planId: string) =>
    (await database.prisma.device.create({ data: { name, planId } })).id;

  // Packed as the agents pack them (each batch's endpoints once), before the clock starts.
  const packed = batches.map((b) => packFlowBatch(crypto.randomUUID(), b));
  {
    const store = createFlowStore(database.url, { maxConnections: flags.concurrency });
    const planId = await plan("bench-store");
    const deviceId = await device("dev-store", planId);
    // The first batch creates the partitions; time the steady state.
    await store.writeBatch(deviceId, planId, packFlowBatch(crypto.randomUUID(), batches[0] ?? []));
    const timing = await timed(packed, async (batch) => {
      await store.writeBatch(deviceId, planId, batch);
    });
    report("store", "store writeBatch (binary COPY of narrow rows + endpoints + rollup)", timing);
    await store.close();
  }

  {
    const store = createFlowStore(database.url, { maxConnections: flags.concurrency });
    const planId = await plan("bench-ingest");
    const deviceId = await device("bench-1", planId);
    const bodies = batches.map((b) => gzipSync(JSON.stringify(packFlowBatch(crypto.randomUUID(), b))));
    await store.writeBatch(deviceId, planId, packFlowBatch(crypto.randomUUID(), batches[0] ?? []));
    const timing = await timed(bodies, async (body) => {
      const request = new Request("http://console.test/api/agent/v1/flows", {
        method: "POST",
        headers: { "content-encoding": "gzip", "content-type": "application/json" },
        body,
      });
      const response = await ingestFlowBatch(
        { db: database.prisma, flowStore: store, device: { id: deviceId, name: "bench-1", planId } },
        request,
      );
      if (response.status !== 200) {
        throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
      }
    });
    report("ingest", "full ingest (gzip packed body: gunzip + parse + check + store write)", timing);
    await store.close();
  }

  {
    // The ceiling: the same narrow rows, already encoded as the store encodes them (binary), into a plain
    // heap table: no partition routing, no rollup, no endpoint dictionary, no idempotency row.
    await pool.query("CREATE TABLE bench_plain (LIKE flows.records)");
    const planId = "00000000-0000-4000-8000-000000000001";
    const chunks = packed.map((b) => encodeBatchRows(planId, "00000000-0000-4000-8000-000000000002", b));
    const ceilingPool = new pg.Pool({ connectionString: database.url, max: flags.concurrency });
    const timing = await timed(chunks, async (chunk) => {
      const client = await ceilingPool.connect();
      try {
        const stream = client.query(
          copyFrom(`COPY bench_plain (${recordColumns.join(", ")}) FROM STDIN (FORMAT binary)`),
        );
        await new Promise<void>((resolve, reject) => {
          stream.on("error", reject);
          stream.on("finish", resolve);
          for (const c of chunk) stream.write(c);
          stream.end();
        });
      } finally {
        client.release();
      }
    });
    await ceilingPool.end();
    report(
      "plain_copy",
      "plain COPY ceiling (same binary rows; no partitions, rollup, endpoints, idempotency, checks)",
      timing,
    );
  }
  figures.ingest_to_plain_copy_ratio =
    (figures.ingest_records_per_s as number) / (figures.plain_copy_records_per_s as number);
  figures.store_to_plain_copy_ratio =
    (figures.store_records_per_s as number) / (figures.plain_copy_records_per_s as number);
  console.log(`full ingest / plain COPY = ${figures.ingest_to_plain_copy_ratio.toFixed(2)}`);
  console.log(`store / plain COPY = ${figures.store_to_plain_copy_ratio.toFixed(2)}`);
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  if (flags.json) writeFileSync(flags.json, JSON.stringify(figures, null, 2));
} finally {
  await pool.end();
  await database.close();
  // Retried: the stopped server may still be writing its last files (statistics) for a moment.
  rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
