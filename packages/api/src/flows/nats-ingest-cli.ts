// `npm run ingest -- --nats nats://HOST:4222/kernflow.flows`: one console ingest worker consuming flow
// batches from NATS JetStream into the flow store (run as many as needed; they share one durable
// consumer). Needs DATABASE_URL: workers scale out beside consoles over one shared PostgreSQL, so they
// never start an embedded database of their own. Stops on SIGINT/SIGTERM after the batches in hand.
import { parseArgs } from "node:util";
import { createFlowStore, createPrismaClient, parseDatabaseEnv } from "@kernflow/db";
import { parseNatsFlowUrl } from "@kernflow/protocol";
import { z } from "zod";
import { emptyNatsIngestStats, runNatsIngest } from "./nats-ingest";

const usage = `Usage: npm run ingest -- --nats nats://HOST:PORT/SUBJECT [--consumer NAME] [--concurrency N] [--ack-wait-ms N]
Environment: DATABASE_URL (required), the console's PostgreSQL.`;

const flagsSchema = z.object({
  nats: z.string().superRefine((text, ctx) => {
    try {
      parseNatsFlowUrl(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `--nats ${(error as Error).message}` });
    }
  }),
  consumer: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "--consumer must be letters, digits, _ or - (at most 64)")
    .optional(),
  concurrency: z.coerce.number().int().min(1).max(64).optional(),
  /** Applies when this worker creates the consumer (the first one to start does). */
  "ack-wait-ms": z.coerce.number().int().min(1_000).max(3_600_000).optional(),
});

function fail(message: string, code: number): never {
  process.stderr.write(`kernflow ingest: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      options: {
        nats: { type: "string" },
        consumer: { type: "string" },
        concurrency: { type: "string" },
        "ack-wait-ms": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n${usage}`, 2);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (values.nats === undefined) fail(`--nats is required\n${usage}`, 2);
  const flags = flagsSchema.safeParse(values);
  if (!flags.success) fail(flags.error.issues.map((i) => i.message).join("; "), 2);
  const { databaseUrl } = parseDatabaseEnv(process.env);
  if (databaseUrl === undefined) fail("DATABASE_URL is required (the console's PostgreSQL)", 2);

  const db = createPrismaClient(databaseUrl);
  const flowStore = createFlowStore(databaseUrl);
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => stop.abort());
  const stats = emptyNatsIngestStats();
  const report = setInterval(() => process.stdout.write(`${JSON.stringify({ stats })}\n`), 1_000);
  try {
    await runNatsIngest(
      { db, flowStore },
      {
        url: flags.data.nats,
        ...(flags.data.consumer ? { consumer: flags.data.consumer } : {}),
        ...(flags.data.concurrency ? { concurrency: flags.data.concurrency } : {}),
        ...(flags.data["ack-wait-ms"] ? { ackWaitMs: flags.data["ack-wait-ms"] } : {}),
        log: (message) => process.stderr.write(`kernflow ingest: ${message}\n`),
      },
      stop.signal,
      stats,
    );
  } finally {
    clearInterval(report);
    process.stdout.write(`${JSON.stringify({ stats, stopped: true })}\n`);
    await flowStore.close();
    await db.$disconnect();
  }
}

main().catch((error: unknown) => fail((error as Error).stack ?? String(error), 1));
