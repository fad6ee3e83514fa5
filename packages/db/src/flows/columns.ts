// How flow records map onto the columns of flows.records (narrow: endpoints by key), flows.records_wide (the
// view the queries read) and the rollups. Column names of the view equal the query's dimension ids, so a
// dimension is a column and nothing needs translating.
import type { Endpoint, FlowDimension } from "@kernflow/protocol";
import { endpointSchema, flowDimensions } from "@kernflow/protocol";

/** Endpoint fields stored per side, in the protocol's order (labels are jsonb; the rest are scalars). */
const endpointColumns = Object.keys(endpointSchema.shape) as (keyof Endpoint)[];

/** The identity columns of flows.endpoints (an endpoint's fields but its pid), in the protocol's order. */
export const endpointIdentityColumns = endpointColumns.filter((c) => c !== "pid") as readonly Exclude<
  keyof Endpoint,
  "pid"
>[];

/**
 * Every column of flows.records, in the order record-rows.ts writes each row's values: plan and device, the
 * record's own fields, and per side the pid and the key of the endpoint's identity in flows.endpoints.
 */
export const recordColumns = [
  "plan_id",
  "device_id",
  "ts_start",
  "ts_end",
  "device",
  "vantage",
  "interface",
  "direction",
  "protocol",
  "src_addr",
  "dst_addr",
  "src_port",
  "dst_port",
  "bytes",
  "packets",
  "sample_rate",
  "tcp_flags",
  "retransmits",
  "rtt_us",
  "app_latency_ms",
  "cluster_id",
  "src_pid",
  "src_endpoint",
  "dst_pid",
  "dst_endpoint",
] as const;

/**
 * The columns of flows.records_wide, the records with both endpoints joined back: the layout flows.records
 * had before the endpoints moved out (every endpoint field as src_… / dst_…), which queries read.
 */
export const wideRecordColumns = [
  ...recordColumns.slice(0, recordColumns.indexOf("cluster_id")),
  ...endpointColumns.map((c) => `src_${c}`),
  ...endpointColumns.map((c) => `dst_${c}`),
  "cluster_id",
] as const;

/**
 * Dimensions kept in the per-minute rollup: the ones whose cardinality stays low on a real fleet. Queries
 * that group or filter by anything else (addresses, ports, pids, cmdlines, container ids) read raw rows.
 */
export const rollupDimensions = [
  "device",
  "vantage",
  "interface",
  "direction",
  "protocol",
  "cluster_id",
  "src_process_name",
  "src_container_name",
  "src_node",
  "src_object_name",
  "src_object_namespace",
  "src_object_type",
  "src_workload_name",
  "src_workload_namespace",
  "dst_process_name",
  "dst_container_name",
  "dst_node",
  "dst_object_name",
  "dst_object_namespace",
  "dst_object_type",
  "dst_workload_name",
  "dst_workload_namespace",
] as const satisfies readonly FlowDimension[];
export type RollupDimension = (typeof rollupDimensions)[number];

const rollupSet: ReadonlySet<string> = new Set(rollupDimensions);
export function isRollupDimension(d: FlowDimension): boolean {
  return rollupSet.has(d);
}

/** Dimensions whose column is an integer (filters parse their value as one). */
export const integerDimensions: ReadonlySet<FlowDimension> = new Set<FlowDimension>([
  "protocol",
  "src_port",
  "dst_port",
  "src_pid",
  "dst_pid",
]);
export const inetDimensions: ReadonlySet<FlowDimension> = new Set<FlowDimension>(["src_addr", "dst_addr"]);

// Every dimension must be a column; this fails at load if the protocol gains one the store lacks.
for (const d of flowDimensions) {
  if (!(wideRecordColumns as readonly string[]).includes(d))
    throw new Error(`flow dimension ${d} has no column`);
}
