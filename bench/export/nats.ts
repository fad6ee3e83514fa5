/**
 * NATS JetStream between publishers and the console's ingest workers: is the stream ever the bottleneck?
 * On a private embedded PostgreSQL and Debian's nats-server (JetStream, file storage, temp folders):
 *
 *  1. stream alone: publish N records (batches of --batch, gzip JSON, the documented format, --inflight
 *     acked publishes at once), then consume them with a durable pull consumer that acks without storing;
 *  2. ingest through NATS with 1 and then 2 worker processes (`npm run ingest`'s program), timed from the
 *     workers' start to the last record committed in the flow store (backlog already in the stream);
 *  3. the plain COPY ceiling: the same rows (COPY'd out of the store by PostgreSQL itself) COPY'd into an
 *     unpartitioned table with no rollup, no idempotency row, no validation.
 *
 *   npm run bench:nats -w @kernflow/bench -- [--records 200000] [--batch 1000] [--inflight 32] [--json FILE]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { createTestDatabase, stopTestServer } from "@kernflow/db/testing";
import { emptyEndpoint, type FlowRecord, flowStreamHeaders, streamNameFor } from "@kernflow/protocol";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers } from "@nats-io/transport-node";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { z } from "zod";

const flags = z
  .object({
    records: z.coerce.number().int().min(1_000).max(10_000_000),
    batch: z.coerce.number().int().min(10).max(100_000),
    inflight: z.coerce.number().int().min(1).max(1_024),
    json: z.string().min(1).optional(),
  })
  .parse(
    parseArgs({
      options: {
        records: { type: "string", default: "200000" },
        batch: { type: "string", default: "1000" },
        inflight: { type: "string", default: "32" },
        json: { type: "string" },
      },
    }).values,
  );

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const workerCli = join(repoRoot, "packages/api/src/flows/nats-ingest-cli.ts");
const figures: Record<string, number> = { records: flags.records, batch: flags.batch };
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", () => done()));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

function records(count: number, device: string, seed: number): FlowRecord[] {
  const now = Date.now() - 60_000;
  return Array.from({ length: count }, (_, i) => {
    const ts = new Date(now - (i % 3_000_000)).toISOString();
    const n = i * 2654435761 + seed;
    return {
      ts_start: ts,
      ts_end: ts,
      device,
      vantage: i % 2 === 0 ? "src" : "dst",
      interface: "eth0",
      direction: i % 2 === 0 ? "egress" : "ingress",
      protocol: i % 5 === 0 ? 17 : 6,
      src_addr: `10.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`,
      dst_addr: `10.200.${i % 8}.${(i >> 3) % 250}`,
      src_port: 1024 + (n % 60_000),
      dst_port: [443, 80, 5432, 6379][i % 4] as number,
      bytes: 100 + (n % 100_000),
      packets: 1 + (n % 100),
      sample_rate: 1,
      tcp_flags: 0x18,
      retransmits: i % 97 === 0 ? 1 : 0,
      rtt_us: 200 + (i % 1000),
      app_latency_ms: i % 3 === 0 ? 1.5 : null,
      src: {
        ...emptyEndpoint(),
        pid: 1000 + (i % 50),
        process_name: "checkout",
        container_id: "c".repeat(64),
      },
      dst: {
        ...emptyEndpoint(),
        object_name: `payments-${i % 7}`,
        object_namespace: "shop",
        object_type: "pod",
      },
      cluster_id: null,
    } satisfies FlowRecord;
  });
}

const storeDir = mkdtempSync(join(tmpdir(), "kf-bench-nats-"));
const natsPort = await freePort();
const nats: ChildProcess = spawn(
  "nats-server",
  ["-js", "-a", "127.0.0.1", "-p", String(natsPort), "-sd", storeDir],
  { stdio: ["ignore", "pipe", "pipe"] },
);
await new Promise<void>((ready, fail) => {
  let out = "";
  const onData = (d: Buffer) => {
    out += String(d);
    if (out.includes("Server is ready")) ready();
  };
  nats.stdout?.on("data", onData);
  nats.stderr?.on("data", onData);
  nats.once("exit", (code) => fail(new Error(`nats-server exited ${code}: ${out}`)));
});
const database = await createTestDatabase();
const pool = new pg.Pool({ connectionString: database.url, max: 2 });
const nc = await connect({ servers: `127.0.0.1:${natsPort}` });
const workers: ChildProcess[] = [];

/** Publishes all records to `subject` under `credential` as gzip batches, `inflight` acked at once. */
async function publishAll(subject: string, all: FlowRecord[], credential: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: streamNameFor(subject), subjects: [subject] });
  const js = jetstream(nc, { timeout: 30_000 });
  const bodies: { id: string; body: Uint8Array }[] = [];
  for (let i = 0; i < all.length; i += flags.batch) {
    const id = randomUUID();
    bodies.push({
      id,
      body: gzipSync(JSON.stringify({ batch_id: id, records: all.slice(i, i + flags.batch) })),
    });
  }
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: flags.inflight }, async () => {
      while (next < bodies.length) {
        const { id, body } = bodies[next++] as { id: string; body: Uint8Array };
        const h = headers();
        h.set(flowStreamHeaders.encoding, "gzip");
        h.set(flowStreamHeaders.credential, credential);
        await js.publish(subject, body, { msgID: id, headers: h });
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

async function storedCount(deviceName: string): Promise<number> {
  const { rows } = await pool.query(
    "SELECT count(*)::int AS n FROM flows.records WHERE device_id = (SELECT id FROM devices WHERE name = $1)",
    [deviceName],
  );
  return (rows[0] as { n: number }).n;
}

async function device(name: string): Promise<string> {
  const plan = await database.prisma.plan.create({
    data: { name: `plan-${name}`, maxDevices: 10, maxFlowsPerSecond: 1_000_000_000, retentionDays: 30 },
  });
  const credential = `kfa_${randomUUID()}${randomUUID()}`;
  await database.prisma.device.create({
    data: { name, planId: plan.id, credentialHash: createHash("sha256").update(credential).digest("hex") },
  });
  return credential;
}

try {
  console.log(
    `${fmt(flags.records)} records in batches of ${flags.batch}, ${flags.inflight} publishes in flight`,
  );
  // 1. The stream alone.
  {
    const subject = "bench.stream";
    const all = records(flags.records, "stream-only", 1);
    const publishS = await publishAll(subject, all, "kfa_unused");
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(streamNameFor(subject), {
      durable_name: "drain",
      ack_policy: AckPolicy.Explicit,
    });
    const consumer = await jetstream(nc).consumers.get(streamNameFor(subject), "drain");
    const batches = Math.ceil(flags.records / flags.batch);
    let seen = 0;
    const started = performance.now();
    const messages = await consumer.consume({ max_messages: 256 });
    for await (const m of messages) {
      // What a worker must do before the store: read the body and its headers; then ack.
      if (m.data.length === 0 || m.headers?.get(flowStreamHeaders.credential) === undefined)
        throw new Error(`message ${m.seq} lost its body or credential`);
      m.ack();
      if (++seen === batches) break;
    }
    const consumeS = (performance.now() - started) / 1000;
    figures.stream_publish_records_per_s = flags.records / publishS;
    figures.stream_consume_records_per_s = flags.records / consumeS;
    figures.stream_publish_plus_consume_records_per_s = flags.records / (publishS + consumeS);
    console.log(
      `stream alone: publish ${fmt(figures.stream_publish_records_per_s)} records/s, consume+ack ` +
        `${fmt(figures.stream_consume_records_per_s)} records/s, publish then consume ` +
        `${fmt(figures.stream_publish_plus_consume_records_per_s)} records/s`,
    );
  }

  // 2. Ingest through NATS into the flow store, 1 and 2 workers.
  for (const workerCount of [1, 2]) {
    const name = `nats-${workerCount}w`;
    const credential = await device(name);
    const subject = `bench.ingest${workerCount}`;
    await publishAll(subject, records(flags.records, name, workerCount), credential);
    const started = performance.now();
    for (let w = 0; w < workerCount; w++) {
      workers.push(
        spawn(
          process.execPath,
          ["--import", "tsx", workerCli, "--nats", `nats://127.0.0.1:${natsPort}/${subject}`],
          {
            cwd: repoRoot,
            env: { ...process.env, DATABASE_URL: database.url },
            stdio: ["ignore", "ignore", "inherit"],
          },
        ),
      );
    }
    let firstStoredAt = 0;
    for (;;) {
      const n = await storedCount(name);
      if (n > 0 && firstStoredAt === 0) firstStoredAt = performance.now();
      if (n >= flags.records) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - firstStoredAt) / 1000;
    figures[`ingest_${workerCount}_worker_records_per_s`] = flags.records / seconds;
    figures[`ingest_${workerCount}_worker_startup_s`] = (firstStoredAt - started) / 1000;
    console.log(
      `ingest through NATS, ${workerCount} worker(s): ${fmt(flags.records / seconds)} records/s ` +
        `(from the first stored record; workers took ${((firstStoredAt - started) / 1000).toFixed(1)} s to start)`,
    );
    for (const w of workers.splice(0)) w.kill("SIGTERM");
  }

  // 3. The plain COPY ceiling over the same rows, as PostgreSQL itself writes them out.
  {
    await pool.query("CREATE TABLE bench_plain (LIKE flows.records)");
    const out = await pool.connect();
    const into = await pool.connect();
    try {
      const text = new PassThrough();
      const collected: Buffer[] = [];
      text.on("data", (c: Buffer) => collected.push(c));
      await pipeline(
        out.query(
          copyTo(
            "COPY (SELECT * FROM flows.records WHERE device_id = (SELECT id FROM devices WHERE name = 'nats-1w')) TO STDOUT",
          ),
        ),
        text,
      );
      const started = performance.now();
      await pipeline(PassThrough.from(collected), into.query(copyFrom("COPY bench_plain FROM STDIN")));
      const seconds = (performance.now() - started) / 1000;
      figures.plain_copy_records_per_s = flags.records / seconds;
      console.log(`plain COPY ceiling: ${fmt(figures.plain_copy_records_per_s)} records/s`);
    } finally {
      out.release();
      into.release();
    }
  }
  const f = figures as Record<string, number>;
  f.ingest_1_worker_to_plain_copy =
    (f.ingest_1_worker_records_per_s as number) / (f.plain_copy_records_per_s as number);
  f.ingest_2_workers_to_plain_copy =
    (f.ingest_2_worker_records_per_s as number) / (f.plain_copy_records_per_s as number);
  f.stream_to_best_ingest =
    (f.stream_publish_plus_consume_records_per_s as number) /
    Math.max(f.ingest_1_worker_records_per_s as number, f.ingest_2_worker_records_per_s as number);
  console.log(
    `ingest / plain COPY: 1 worker ${f.ingest_1_worker_to_plain_copy.toFixed(2)}, 2 workers ` +
      `${f.ingest_2_workers_to_plain_copy.toFixed(2)}; stream (publish then consume) / best ingest = ` +
      `${f.stream_to_best_ingest.toFixed(1)}x (target >= 3x)`,
  );
  if (flags.json) writeFileSync(flags.json, `${JSON.stringify(figures, null, 2)}\n`);
} finally {
  for (const w of workers) w.kill("SIGKILL");
  await nc.close();
  nats.kill("SIGKILL");
  await pool.end();
  await database.cleanup();
  await stopTestServer();
  rmSync(storeDir, { recursive: true, force: true });
}
