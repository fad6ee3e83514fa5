import { z } from "zod";
import { flowRecordSchema } from "./flow-record";
import { parseNatsFlowUrl } from "./flow-stream";

/**
 * The agent protocol (CONTRACTS.md §3, "/api/agent/"): what a capture agent (or an aggregator acting for
 * agents) and the console say to each other. Both sides parse every message with these schemas.
 *
 * Transport: JSON over HTTP. Every path is under `/api/agent/v1/`. After enrolment the agent sends its
 * credential as `Authorization: Bearer <credential>`. Errors are `{ "error": { "code", "message" } }`
 * with the HTTP status (400 bad input, 401 unknown/rotated credential or device deleted, 403 token refused,
 * 404, 409 plan full, 413, 429 with a `Retry-After` header in seconds).
 */
export const AGENT_PROTOCOL_VERSION = 1;
export const AGENT_API_PREFIX = "/api/agent/v1";

export const agentPaths = {
  enroll: `${AGENT_API_PREFIX}/enroll`,
  checkIn: `${AGENT_API_PREFIX}/check-in`,
  rotateCredential: `${AGENT_API_PREFIX}/credential/rotate`,
  /** GET `${bytecode}/<sha256>` → the object file bytes (application/octet-stream). */
  bytecode: `${AGENT_API_PREFIX}/bytecode`,
  /** POST a gzip-compressed (`Content-Encoding: gzip`) JSON {@link FlowBatch}. */
  flows: `${AGENT_API_PREFIX}/flows`,
} as const;

/** The longest a check-in may be held open by the server before it answers "unchanged". */
export const MAX_CHECK_IN_WAIT_MS = 30_000;

export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex SHA-256");

/** Facts an agent reports about its host when it enrols (and on every check-in, as they may change). */
export const hostFactsSchema = z
  .object({
    hostname: z.string().min(1).max(253),
    machine_id: z.string().min(1).max(128),
    kernel_release: z.string().min(1).max(128),
    os: z.string().min(1).max(256),
    agent_version: z.string().min(1).max(64),
    interfaces: z.array(z.string().min(1).max(64)).max(4096),
  })
  .strict();
export type HostFacts = z.infer<typeof hostFactsSchema>;

export const enrollRequestSchema = z
  .object({
    token: z.string().min(1).max(256),
    host: hostFactsSchema,
  })
  .strict();
export type EnrollRequest = z.infer<typeof enrollRequestSchema>;

export const enrollResponseSchema = z
  .object({
    device: z.object({ id: z.uuid(), name: z.string(), plan_id: z.uuid(), plan_name: z.string() }).strict(),
    /** Shown once; the server keeps only its hash. */
    credential: z.string().min(32),
  })
  .strict();
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;

export const rotateCredentialResponseSchema = z.object({ credential: z.string().min(32) }).strict();
export type RotateCredentialResponse = z.infer<typeof rotateCredentialResponseSchema>;

/** Where a sink sends records, besides the console (CONTRACTS.md §2 `--export` URLs). */
export const sinkConfigSchema = z
  .object({
    id: z.string().min(1),
    kind: z.enum(["ipfix_udp", "ipfix_tcp", "nats"]),
    /** `ipfix://HOST:PORT`, `ipfix+tcp://HOST:PORT` or `nats://HOST:PORT/SUBJECT`. */
    url: z.string().min(1),
    enterprise_id: z.number().int().positive().nullable(),
  })
  .strict();
export type SinkConfig = z.infer<typeof sinkConfigSchema>;

/** The configuration the console wants a device to run. Its hash is computed by the console. */
/**
 * Where an agent sends its flow batches: the console itself (default), an aggregator (`http(s)://HOST:PORT`,
 * same protocol as the console), or NATS JetStream (`nats://HOST:PORT/SUBJECT`, format: flow-stream.ts,
 * falling back to the console over HTTP while NATS is away).
 */
export const flowDestinationSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("console") }).strict(),
  z.object({ kind: z.literal("aggregator"), url: z.url({ protocol: /^https?$/ }) }).strict(),
  z
    .object({
      kind: z.literal("nats"),
      url: z.string().refine(isNatsFlowUrl, "expected nats://HOST:PORT/SUBJECT"),
    })
    .strict(),
]);
export type FlowDestination = z.infer<typeof flowDestinationSchema>;

function isNatsFlowUrl(text: string): boolean {
  try {
    parseNatsFlowUrl(text);
    return true;
  } catch {
    return false;
  }
}

/** The expected forms of a plan's flow destination, for messages that reject one. */
export const FLOW_DESTINATION_FORMS =
  "empty (the console), http(s)://HOST:PORT (an aggregator) or nats://HOST:PORT/SUBJECT (NATS JetStream)";

/**
 * A plan's flow destination as the console stores it (null or a URL) → the desired config's form; throws
 * a message naming the expected forms for anything else.
 */
export function flowDestinationFromUrl(url: string | null): FlowDestination {
  if (url === null || url.trim() === "") return { kind: "console" };
  const text = url.trim();
  const kind = text.startsWith("nats://") ? "nats" : "aggregator";
  const parsed = flowDestinationSchema.safeParse({ kind, url: text });
  if (!parsed.success)
    throw new Error(`"${text}" is not a flow destination; expected ${FLOW_DESTINATION_FORMS}`);
  return parsed.data;
}

export const desiredConfigSchema = z
  .object({
    capture: z
      .object({
        include: z.array(z.string().min(1)).min(1),
        exclude: z.array(z.string().min(1)),
        sample_rate: z.number().int().positive(),
        interval_ms: z.number().int().min(1000).max(3_600_000),
      })
      .strict(),
    /** The bytecode chosen for the agent's kernel; null = use the object the agent ships with. */
    bytecode: z
      .object({
        sha256: sha256Hex,
        name: z.string(),
        size: z.number().int().positive(),
        kernel_match: z.string(),
      })
      .strict()
      .nullable(),
    sinks: z.array(sinkConfigSchema),
    flow_destination: flowDestinationSchema,
  })
  .strict();
export type DesiredConfig = z.infer<typeof desiredConfigSchema>;

export const agentErrorSchema = z
  .object({
    at: z.iso.datetime(),
    /** e.g. `bytecode_load`, `attach`, `ship`, `sink`. */
    kind: z.string().min(1).max(64),
    message: z.string().max(4096),
  })
  .strict();
export type AgentError = z.infer<typeof agentErrorSchema>;

/** What an agent reports about itself on every check-in. */
export const agentStatusSchema = z
  .object({
    /** `degraded` when any error below is current (e.g. pushed bytecode failed to load). */
    health: z.enum(["starting", "ok", "degraded"]),
    config_hash_applied: z.string().nullable(),
    bytecode_sha256: sha256Hex.nullable(),
    interfaces_seen: z.array(z.string()).max(4096),
    interfaces_attached: z.array(z.string()).max(4096),
    map_overflow: z.number().int().nonnegative(),
    flows_per_second: z.number().nonnegative(),
    records_spooled: z.number().int().nonnegative(),
    errors: z.array(agentErrorSchema).max(50),
  })
  .strict();
export type AgentStatus = z.infer<typeof agentStatusSchema>;

export const checkInRequestSchema = z
  .object({
    host: hostFactsSchema,
    status: agentStatusSchema,
    /** Hold the request up to this long while nothing changes (long-poll); 0 answers at once. */
    wait_ms: z.number().int().min(0).max(MAX_CHECK_IN_WAIT_MS),
  })
  .strict();
export type CheckInRequest = z.infer<typeof checkInRequestSchema>;

export const checkInResponseSchema = z
  .object({
    device: z.object({ id: z.uuid(), name: z.string() }).strict(),
    config: desiredConfigSchema,
    config_hash: z.string().min(1),
    /** True when `config_hash` differs from the agent's `config_hash_applied`. */
    changed: z.boolean(),
  })
  .strict();
export type CheckInResponse = z.infer<typeof checkInResponseSchema>;

/** Flow records shipped by an agent (or aggregator). Idempotent by `batch_id`. */
export const flowBatchSchema = z
  .object({
    batch_id: z.uuid(),
    records: z.array(flowRecordSchema).max(100_000),
  })
  .strict();
export type FlowBatch = z.infer<typeof flowBatchSchema>;

export const flowBatchResponseSchema = z
  .object({ accepted: z.number().int().nonnegative(), duplicate: z.boolean() })
  .strict();
export type FlowBatchResponse = z.infer<typeof flowBatchResponseSchema>;

export const agentErrorResponseSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }).strict() })
  .strict();
