// How flow records map onto the columns of flows.records and flows.rollup_1m. Column names equal the
// query's dimension ids, so a dimension is a column and nothing needs translating.
import type { Endpoint, FlowDimension, FlowRecord } from "@kernflow/protocol";
import { endpointSchema, flowDimensions } from "@kernflow/protocol";

/** Endpoint fields stored per side, in the protocol's order (labels are jsonb; the rest are scalars). */
const endpointColumns = Object.keys(endpointSchema.shape) as (keyof Endpoint)[];

/** Every column of flows.records, in the order the writers send them. */
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
  ...endpointColumns.map((c) => `src_${c}`),
  ...endpointColumns.map((c) => `dst_${c}`),
  "cluster_id",
] as const;

/** PostgreSQL type of each column, for `unnest($n::type[])` and casts. */
export const recordColumnTypes: Record<string, string> = {
  plan_id: "uuid",
  device_id: "uuid",
  ts_start: "timestamptz",
  ts_end: "timestamptz",
  protocol: "smallint",
  src_addr: "inet",
  dst_addr: "inet",
  src_port: "integer",
  dst_port: "integer",
  bytes: "bigint",
  packets: "bigint",
  sample_rate: "integer",
  tcp_flags: "integer",
  retransmits: "bigint",
  rtt_us: "bigint",
  app_latency_ms: "double precision",
  src_pid: "integer",
  dst_pid: "integer",
  src_object_labels: "jsonb",
  dst_object_labels: "jsonb",
};
export function columnType(column: string): string {
  return recordColumnTypes[column] ?? "text";
}

type CellValue = string | number | null;

/** The values of one record in {@link recordColumns} order (labels as JSON text). */
export function recordRow(record: FlowRecord, planId: string, deviceId: string): CellValue[] {
  const row: CellValue[] = [
    planId,
    deviceId,
    record.ts_start,
    record.ts_end,
    record.device,
    record.vantage,
    record.interface,
    record.direction,
    record.protocol,
    record.src_addr,
    record.dst_addr,
    record.src_port,
    record.dst_port,
    record.bytes,
    record.packets,
    record.sample_rate,
    record.tcp_flags,
    record.retransmits,
    record.rtt_us,
    record.app_latency_ms,
  ];
  for (const side of [record.src, record.dst]) {
    for (const c of endpointColumns) {
      const value = side[c];
      row.push(value === null ? null : typeof value === "object" ? JSON.stringify(value) : value);
    }
  }
  row.push(record.cluster_id);
  return row;
}

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
  if (!(recordColumns as readonly string[]).includes(d)) throw new Error(`flow dimension ${d} has no column`);
}
