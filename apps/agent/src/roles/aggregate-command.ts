import { parseArgs } from "node:util";
import { parseNatsFlowUrl } from "@kernflow/protocol";
import { z } from "zod";
import { parseDuration, UsageError } from "../cli-flags";
import type { AggregateOptions } from "./aggregate";

export const aggregateHelp = `Usage: kernflow-agent aggregate --listen HOST:PORT --server CONSOLE_URL [flags]

Receives flow batches from capture agents (they send to it instead of the console when their desired
config says flow_destination: aggregator), joins the source-side and destination-side records of each
conversation so both carry both ends' process and container metadata (both records are kept), adds
Kubernetes metadata from kubetags, and forwards them to the console under each agent's own credential.

Flags:
  --listen HOST:PORT     where agents send batches (POST /api/agent/v1/flows); also GET /metrics, /healthz (required)
  --server URL           the console, e.g. http://console:3000 (required)
  --nats URL             forward through NATS JetStream, nats://HOST:4222/kernflow.flows (HTTP to --server while it is away)
  --kubetags URL         the kubetags service, e.g. http://kubetags:8080 (Node, Object, Workload, Labels, Container Name)
  --cluster-id ID        [Cluster ID] put in every record
  --join-window DURATION how long a record waits for its partner before it is forwarded unjoined (default 30s)
  --max-entries N        records held for joining at most; beyond it the oldest leave unjoined (default 1000000)
  -h, --help             show this help
`;

const hostPort = z.string().transform((text, ctx) => {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : Number.NaN;
  if (match === null || port > 65535) {
    ctx.addIssue({ code: "custom", message: `--listen "${text}" must be HOST:PORT, e.g. 0.0.0.0:7000` });
    return z.NEVER;
  }
  return { host: (match[1] as string).replace(/^\[(.*)\]$/, "$1"), port };
});

const flagsSchema = z.object({
  listen: hostPort,
  server: z.url({ protocol: /^https?$/, error: "--server must be an http(s) URL of the console" }),
  kubetags: z.url({ protocol: /^https?$/, error: "--kubetags must be an http(s) URL" }).optional(),
  nats: z
    .string()
    .superRefine((text, ctx) => {
      try {
        parseNatsFlowUrl(text);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: `--nats ${(error as Error).message}` });
      }
    })
    .optional(),
  "cluster-id": z.string().trim().min(1, "--cluster-id must not be empty").max(253).optional(),
  "join-window": z.string().transform((text, ctx) => {
    try {
      return parseDuration(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `--join-window: ${(error as Error).message}` });
      return z.NEVER;
    }
  }),
  "max-entries": z
    .string()
    .regex(/^\d+$/, "--max-entries must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(1, "--max-entries must be at least 1").max(100_000_000)),
});

export type AggregateFlags = Omit<AggregateOptions, "log" | "onListening">;

/** Returns null when help was asked for. */
export function parseAggregateFlags(argv: readonly string[]): AggregateFlags | null {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: {
        listen: { type: "string" },
        server: { type: "string" },
        kubetags: { type: "string" },
        nats: { type: "string" },
        "cluster-id": { type: "string" },
        "join-window": { type: "string" },
        "max-entries": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
  if (values.help) return null;
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.listen === undefined) throw new UsageError("--listen HOST:PORT is required");
  if (values.server === undefined) throw new UsageError("--server URL (the console) is required");
  const parsed = flagsSchema.safeParse({
    ...values,
    "join-window": values["join-window"] ?? "30s",
    "max-entries": values["max-entries"] ?? "1000000",
  });
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join("; "));
  const f = parsed.data;
  if (f["join-window"] > 3_600_000) throw new UsageError("--join-window must be at most 1h");
  return {
    listenHost: f.listen.host,
    listenPort: f.listen.port,
    serverUrl: f.server,
    ...(f.kubetags === undefined ? {} : { kubetagsUrl: f.kubetags }),
    ...(f.nats === undefined ? {} : { natsUrl: f.nats }),
    ...(f["cluster-id"] === undefined ? {} : { clusterId: f["cluster-id"] }),
    joinWindowMs: f["join-window"],
    maxEntries: f["max-entries"],
  };
}

/** `kernflow-agent aggregate`: runs until SIGINT/SIGTERM, then forwards what is left and exits 0. */
export async function runAggregateCommand(
  argv: readonly string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; signal: AbortSignal },
): Promise<number> {
  const log = (msg: string) => io.stderr.write(`kernflow-agent: ${msg}\n`);
  let flags: AggregateFlags | null;
  try {
    flags = parseAggregateFlags(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(
      `kernflow-agent aggregate: ${error.message}\nRun 'kernflow-agent aggregate --help' for usage.\n`,
    );
    return 2;
  }
  if (flags === null) {
    io.stdout.write(aggregateHelp);
    return 0;
  }
  const { runAggregate } = await import("./aggregate");
  try {
    const metrics = await runAggregate({ ...flags, log }, io.signal);
    log(`aggregate ended: ${JSON.stringify({ join: metrics.join, forward: metrics.forward })}`);
    return 0;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    log(`aggregate failed: ${code === "EADDRINUSE" ? `--listen address in use` : (error as Error).message}`);
    return 1;
  }
}
