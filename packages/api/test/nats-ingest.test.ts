// NATS JetStream between publishers and the console's ingest workers, all real: Debian's nats-server with
// JetStream, the worker program (`npm run ingest`) as separate processes, PostgreSQL with the flow store.
// Messages are published exactly as the documented format says (@kernflow/protocol flow-stream.ts), by a
// plain JetStream client, so the format itself is under test too.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { createFlowStore, type FlowStore } from "@kernflow/db";
import {
  deadLetterSubjectFor,
  emptyEndpoint,
  type FlowRecord,
  flowStreamHeaders,
  streamNameFor,
} from "@kernflow/protocol";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The agent's test record, the one the agent's NATS tests build on too.
import { sampleRecord } from "../../../apps/agent/src/sinks/fixtures.test-support";
import { generateAgentCredential } from "../src/agent/credentials";
import { emptyNatsIngestStats, runNatsIngest } from "../src/flows/nats-ingest";
import { createHarness, type Harness } from "./harness";
import { NatsServer, natsServerBinary } from "./nats-support";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const workerCli = join(repoRoot, "packages/api/src/flows/nats-ingest-cli.ts");
const PER_BATCH = 1_000;

let h: Harness;
let store: FlowStore;
let pool: pg.Pool;
let credential: string;
let deviceName: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  h = await createHarness();
  store = createFlowStore(h.database.url);
  pool = new pg.Pool({ connectionString: h.database.url, max: 2 });
  const plan = await h.db.plan.create({
    data: { name: "nats", maxDevices: 10, maxFlowsPerSecond: 1_000_000_000, retentionDays: 30 },
  });
  const made = generateAgentCredential();
  credential = made.credential;
  deviceName = `nats-agent-${randomUUID().slice(0, 6)}`;
  await h.db.device.create({ data: { name: deviceName, planId: plan.id, credentialHash: made.hash } });
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await pool?.end();
  await store?.close();
  await h?.cleanup();
});

/** Record `i` of a run: ports and bytes encode i, so a lost or doubled record changes the sums. */
function record(i: number, tsMs: number, srcAddr: string): FlowRecord {
  const ts = new Date(tsMs).toISOString();
  return sampleRecord({
    ts_start: ts,
    ts_end: ts,
    device: deviceName,
    protocol: 17,
    src_addr: srcAddr,
    dst_addr: "10.9.0.2",
    src_port: i % 65_536,
    dst_port: Math.floor(i / 65_536),
    bytes: i + 1,
    packets: 1,
    tcp_flags: 0,
    rtt_us: null,
    src: emptyEndpoint(),
  });
}

/** Publishes records [from, to) in batches as an agent would; retries while the server is away. */
async function publishRange(
  nc: NatsConnection,
  subject: string,
  from: number,
  to: number,
  runId: string,
  srcAddr: string,
) {
  const js = jetstream(nc, { timeout: 10_000 });
  const tsMs = Date.now() - 60_000;
  for (let start = from; start < to; start += PER_BATCH) {
    const records = [];
    for (let i = start; i < Math.min(to, start + PER_BATCH); i++) records.push(record(i, tsMs, srcAddr));
    // Derived from the run and the range: a re-publish after a failure is the same batch.
    const batchId = uuidFrom(runId, start);
    const body = gzipSync(JSON.stringify({ batch_id: batchId, records }));
    const h = headers();
    h.set(flowStreamHeaders.encoding, "gzip");
    h.set(flowStreamHeaders.credential, credential);
    for (let attempt = 0; ; attempt++) {
      try {
        await js.publish(subject, body, { msgID: batchId, headers: h });
        break;
      } catch (error) {
        if (attempt > 200) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

function uuidFrom(runId: string, n: number): string {
  const hex = n.toString(16).padStart(12, "0");
  return `${runId.slice(0, 24)}${hex}`;
}

/** Records of one test, told apart by their source address. */
async function stored(srcAddr: string): Promise<{ n: number; bytes: number }> {
  const { rows } = await pool.query(
    `SELECT count(*)::int AS n, coalesce(sum(bytes), 0)::float8 AS bytes FROM flows.records
     WHERE device_id = (SELECT id FROM devices WHERE name = $1) AND src_addr = $2::inet`,
    [deviceName, srcAddr],
  );
  return rows[0] as { n: number; bytes: number };
}

function startWorker(natsUrl: string): ChildProcess & { output: () => string } {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", workerCli, "--nats", natsUrl, "--ack-wait-ms", "3000", "--concurrency", "4"],
    {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: h.database.url },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (d) => {
    output += String(d);
  });
  child.stderr?.on("data", (d) => {
    output += String(d);
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return Object.assign(child, { output: () => output.slice(-4000) });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, context = () => "") {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(natsServerBinary === undefined)("NATS JetStream flow ingest", () => {
  it("stores exactly 1M records once when one of two workers is SIGKILLed mid-run", async () => {
    const nats = await new NatsServer().start();
    const nc = await nats.connect({ maxReconnectAttempts: -1 });
    try {
      const subject = "kernflow.flows.kill";
      const total = 1_000_000;
      const a = startWorker(`${nats.url}/${subject}`);
      const b = startWorker(`${nats.url}/${subject}`);
      const runId = randomUUID()
        .replaceAll("-", "")
        .replace(/^(.{8})(.{4})(.{4})(.{4}).*/, "$1-$2-$3-$4-");
      const publishing = publishRange(nc, subject, 0, total, runId, "10.9.0.1");
      // Kill one worker once it has stored a part: its unacked messages must go to the other.
      await until(
        "worker A storing",
        async () => /"records_stored":[1-9]\d{4,}/.test(a.output()),
        240_000,
        () => a.output(),
      );
      a.kill("SIGKILL");
      await publishing;
      await until(
        "every record stored",
        async () => (await stored("10.9.0.1")).n >= total,
        400_000,
        () => b.output(),
      );
      // A little longer: redeliveries of batches A stored but never acked must not add anything.
      await new Promise((r) => setTimeout(r, 5_000));
      const result = await stored("10.9.0.1");
      expect(result.n).toBe(total);
      expect(result.bytes).toBe((total * (total + 1)) / 2);
      const { rows } = await pool.query("SELECT count(*)::int AS n FROM flows.batches WHERE records = $1", [
        PER_BATCH,
      ]);
      expect((rows[0] as { n: number }).n).toBeGreaterThanOrEqual(total / PER_BATCH);
      b.kill("SIGTERM");
    } finally {
      await nc.close();
      await nats.cleanup();
    }
  }, 900_000);

  it("loses nothing when nats-server restarts mid-run", async () => {
    const nats = await new NatsServer().start();
    const nc = await nats.connect({ maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    try {
      const subject = "kernflow.flows.restart";
      const total = 100_000;
      const worker = startWorker(`${nats.url}/${subject}`);
      const runId = randomUUID()
        .replaceAll("-", "")
        .replace(/^(.{8})(.{4})(.{4})(.{4}).*/, "$1-$2-$3-$4-");
      // Records of this run: ports past the first test's 1M records.
      const offset = 2_000_000;
      await publishRange(nc, subject, offset, offset + total / 2, runId, "10.9.0.2");
      await nats.stop();
      await new Promise((r) => setTimeout(r, 1_000));
      await nats.start();
      await publishRange(nc, subject, offset + total / 2, offset + total, runId, "10.9.0.2");
      await until(
        "every record after the restart",
        async () => (await stored("10.9.0.2")).n >= total,
        300_000,
        () => worker.output(),
      );
      await new Promise((r) => setTimeout(r, 2_000));
      const after = await stored("10.9.0.2");
      expect(after.n).toBe(total);
      let expectedBytes = 0;
      for (let i = offset; i < offset + total; i++) expectedBytes += i + 1;
      expect(after.bytes).toBe(expectedBytes);
      worker.kill("SIGTERM");
    } finally {
      await nc.close();
      await nats.cleanup();
    }
  }, 600_000);

  it("moves poisoned messages to the dead-letter subject with their reason and goes on", async () => {
    const nats = await new NatsServer().start();
    const nc = await nats.connect();
    const stop = new AbortController();
    let running: Promise<unknown> = Promise.resolve();
    try {
      const subject = "kernflow.flows.poison";
      const stats = emptyNatsIngestStats();
      running = runNatsIngest(
        { db: h.db, flowStore: store },
        { url: `${nats.url}/${subject}`, log: () => {} },
        stop.signal,
        stats,
      );
      await until(
        "the stream",
        async () => {
          try {
            await (await jetstreamManager(nc)).streams.info(streamNameFor(subject));
            return true;
          } catch {
            return false;
          }
        },
        20_000,
      );
      const js = jetstream(nc);
      const send = async (body: Buffer, cred = credential, encoding = "gzip") => {
        const hdr = headers();
        hdr.set(flowStreamHeaders.encoding, encoding);
        hdr.set(flowStreamHeaders.credential, cred);
        await js.publish(subject, body, { headers: hdr, msgID: randomUUID() });
      };
      const good = { batch_id: randomUUID(), records: [record(3_000_000, Date.now() - 1000, "10.9.0.3")] };
      await send(gzipSync("{not json"));
      await send(gzipSync(JSON.stringify({ batch_id: randomUUID(), records: [{ protocol: 6 }] })));
      await send(gzipSync(JSON.stringify(good)), "kfa_not-a-real-credential-0000000000000000");
      await send(gzipSync(JSON.stringify(good)));
      await until(
        "four messages handled",
        async () => stats.dead_lettered === 3 && stats.batches_stored === 1,
        30_000,
      );

      const dlq = await jetstream(nc).consumers.get(`${streamNameFor(subject)}_DLQ`);
      const reasons: string[] = [];
      const fetched = await dlq.fetch({ max_messages: 3, expires: 5_000 });
      for await (const m of fetched) {
        expect(m.subject).toBe(deadLetterSubjectFor(subject));
        reasons.push(m.headers?.get(flowStreamHeaders.deadLetterReason) ?? "");
      }
      expect(reasons).toHaveLength(3);
      // Handled concurrently: in any order, one of each.
      for (const expected of ["not JSON", "record 0", "credential refused"])
        expect(
          reasons.filter((r) => r.includes(expected)),
          expected,
        ).toHaveLength(1);
      const consumer = await (await jetstreamManager(nc)).consumers.info(
        streamNameFor(subject),
        "kernflow-ingest",
      );
      expect(consumer.num_ack_pending).toBe(0);
      expect(consumer.num_pending).toBe(0);
    } finally {
      stop.abort();
      await running;
      await nc.close();
      await nats.cleanup();
    }
  }, 120_000);
});
