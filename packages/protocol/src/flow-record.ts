import { z } from "zod";

/** Metadata of one end of a conversation (CONTRACTS.md §1, "Endpoint"). Unknown fields are null. */
/** The largest pid and sample rate a record may carry: the flow store keeps them as 32-bit integers. */
export const INT32_MAX = 2_147_483_647;

export const endpointSchema = z
  .object({
    // Stored as PostgreSQL integer (and IPFIX unsigned32): larger values are refused, not wrapped.
    pid: z.number().int().nonnegative().max(INT32_MAX).nullable(),
    process_name: z.string().nullable(),
    process_cmdline: z.string().nullable(),
    container_id: z.string().nullable(),
    container_name: z.string().nullable(),
    node: z.string().nullable(),
    object_name: z.string().nullable(),
    object_namespace: z.string().nullable(),
    object_type: z.enum(["pod", "service"]).nullable(),
    workload_name: z.string().nullable(),
    workload_namespace: z.string().nullable(),
    object_labels: z.record(z.string(), z.string()).nullable(),
  })
  .strict();
export type Endpoint = z.infer<typeof endpointSchema>;

/** An endpoint with every field unknown. */
export function emptyEndpoint(): Endpoint {
  return {
    pid: null,
    process_name: null,
    process_cmdline: null,
    container_id: null,
    container_name: null,
    node: null,
    object_name: null,
    object_namespace: null,
    object_type: null,
    workload_name: null,
    workload_namespace: null,
    object_labels: null,
  };
}

const ipAddress = z.union([z.ipv4(), z.ipv6()]);
const port = z.number().int().min(0).max(65535);
const counter = z.number().int().nonnegative();

/** One direction of one conversation seen on one interface of one host during one interval. */
export const flowRecordSchema = z
  .object({
    ts_start: z.iso.datetime({ offset: false }),
    ts_end: z.iso.datetime({ offset: false }),
    device: z.string().min(1),
    vantage: z.enum(["src", "dst"]),
    interface: z.string().min(1),
    direction: z.enum(["ingress", "egress"]),
    protocol: z.number().int().min(0).max(255),
    src_addr: ipAddress,
    dst_addr: ipAddress,
    src_port: port,
    dst_port: port,
    bytes: counter,
    packets: counter,
    sample_rate: z.number().int().positive().max(INT32_MAX),
    tcp_flags: z.number().int().min(0).max(0xfff),
    retransmits: counter,
    rtt_us: counter.nullable(),
    app_latency_ms: z.number().nonnegative().nullable(),
    src: endpointSchema,
    dst: endpointSchema,
    cluster_id: z.string().nullable(),
  })
  .strict()
  .refine((r) => r.ts_end >= r.ts_start, { message: "ts_end must not be before ts_start", path: ["ts_end"] });
export type FlowRecord = z.infer<typeof flowRecordSchema>;

/**
 * A valid record with neutral values (one TCP packet 10.0.0.1:1 → 10.0.0.2:2 seen leaving eth0 of node-1,
 * endpoints unknown), changed by `fields`: for tests and test exports that care about a few fields only.
 */
export function flowRecordWith(fields: Partial<FlowRecord> = {}): FlowRecord {
  const ts = fields.ts_start ?? "2026-01-01T00:00:00Z";
  return {
    ts_start: ts,
    ts_end: ts,
    device: "node-1",
    vantage: "src",
    interface: "eth0",
    direction: "egress",
    protocol: 6,
    src_addr: "10.0.0.1",
    dst_addr: "10.0.0.2",
    src_port: 1,
    dst_port: 2,
    bytes: 40,
    packets: 1,
    sample_rate: 1,
    tcp_flags: 0,
    retransmits: 0,
    rtt_us: null,
    app_latency_ms: null,
    src: emptyEndpoint(),
    dst: emptyEndpoint(),
    cluster_id: null,
    ...fields,
  };
}

/** Kentik-compatible dimension labels of the endpoint fields, for the console and the API. */
export const endpointDimensionLabels: Record<keyof Endpoint, string> = {
  pid: "Process PID",
  process_name: "Process Name",
  process_cmdline: "Process Cmdline",
  container_id: "Process Container ID",
  container_name: "Container Name",
  node: "Node",
  object_name: "Object Name",
  object_namespace: "Object Namespace",
  object_type: "Object Type",
  workload_name: "Workload Name",
  workload_namespace: "Workload Namespace",
  object_labels: "Object Labels",
};
