import { z } from "zod";
import { type Endpoint, endpointDimensionLabels } from "./flow-record";

/**
 * The flow query model shared by the console's explorer, tRPC `flows.query` and REST
 * `POST /api/v1/flows/query` (issue #5). Dimension ids are the flow record's field names; endpoint fields
 * are prefixed by their side (`src_process_name`, `dst_workload_name`).
 */
const recordDimensions = [
  "device",
  "vantage",
  "interface",
  "direction",
  "protocol",
  "src_addr",
  "dst_addr",
  "src_port",
  "dst_port",
  "cluster_id",
] as const;

/** Endpoint fields usable as dimensions (labels are a map, not a value: filter/group by them is not offered). */
const endpointDimensionFields = [
  "pid",
  "process_name",
  "process_cmdline",
  "container_id",
  "container_name",
  "node",
  "object_name",
  "object_namespace",
  "object_type",
  "workload_name",
  "workload_namespace",
] as const satisfies readonly (keyof Endpoint)[];

type EndpointDimension = `${"src" | "dst"}_${(typeof endpointDimensionFields)[number]}`;

export const flowDimensions = [
  ...recordDimensions,
  ...endpointDimensionFields.map((f) => `src_${f}` as EndpointDimension),
  ...endpointDimensionFields.map((f) => `dst_${f}` as EndpointDimension),
] as const;
export type FlowDimension = (typeof recordDimensions)[number] | EndpointDimension;
export const flowDimensionSchema = z.enum(flowDimensions as unknown as [FlowDimension, ...FlowDimension[]]);

/** Kentik-style labels for every dimension ("Source Process Name", "Destination Port"). */
export const flowDimensionLabels: Record<FlowDimension, string> = (() => {
  const labels: Record<string, string> = {
    device: "Device",
    vantage: "Vantage",
    interface: "Interface",
    direction: "Direction",
    protocol: "Protocol",
    src_addr: "Source IP",
    dst_addr: "Destination IP",
    src_port: "Source Port",
    dst_port: "Destination Port",
    cluster_id: "Cluster ID",
  };
  for (const f of endpointDimensionFields) {
    labels[`src_${f}`] = `Source ${endpointDimensionLabels[f]}`;
    labels[`dst_${f}`] = `Destination ${endpointDimensionLabels[f]}`;
  }
  return labels as Record<FlowDimension, string>;
})();

/** Dimensions holding an IP address: the only ones a `cidr` filter applies to. */
export const addressDimensions: readonly FlowDimension[] = ["src_addr", "dst_addr"];

export const flowMetrics = [
  "bits_per_s",
  "packets_per_s",
  "retransmits_per_s",
  "app_latency_ms",
  "rtt_ms",
] as const;
export const flowMetricSchema = z.enum(flowMetrics);
export type FlowMetric = z.infer<typeof flowMetricSchema>;
/** Volume metrics are sums; the others are distributions summarised by `aggregate`. */
export const volumeMetrics: readonly FlowMetric[] = ["bits_per_s", "packets_per_s", "retransmits_per_s"];

export const flowAggregateSchema = z.enum(["avg", "p50", "p95", "p99", "max"]);
export type FlowAggregate = z.infer<typeof flowAggregateSchema>;

export const flowFilterSchema = z
  .object({
    dimension: flowDimensionSchema,
    op: z.enum(["eq", "neq", "prefix", "cidr"]),
    value: z.string().max(1024),
  })
  .strict()
  .refine((f) => f.op !== "cidr" || addressDimensions.includes(f.dimension), {
    message: "a cidr filter applies only to src_addr or dst_addr",
    path: ["op"],
  });
export type FlowFilter = z.infer<typeof flowFilterSchema>;

export const flowTimeRangeSchema = z.union([
  z.object({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) }).strict(),
  /** Relative to now: the last N seconds (max 31 days). */
  z
    .object({
      last_seconds: z
        .number()
        .int()
        .min(10)
        .max(31 * 86_400),
    })
    .strict(),
]);
export type FlowTimeRange = z.infer<typeof flowTimeRangeSchema>;

export const flowQuerySchema = z
  .object({
    metric: flowMetricSchema,
    /** How latency and RTT are summarised per group and bucket; ignored for volume metrics. */
    aggregate: flowAggregateSchema.default("avg"),
    group_by: z.array(flowDimensionSchema).max(4).default([]),
    filters: z.array(flowFilterSchema).max(32).default([]),
    range: flowTimeRangeSchema,
    /** Bucket width; omitted = chosen so the range has about 60 buckets (at least 10 s). */
    bucket_seconds: z.number().int().min(10).max(86_400).optional(),
    top_n: z.number().int().min(1).max(100).default(10),
    /**
     * Count each conversation once: `src` keeps only records seen by the source end, `dst` only by the
     * destination end, `all` keeps both. Omitted = `src` for volume metrics, `all` for latency and RTT.
     */
    vantage: z.enum(["src", "dst", "all"]).optional(),
  })
  .strict();
export type FlowQueryInput = z.input<typeof flowQuerySchema>;
export type FlowQuery = z.output<typeof flowQuerySchema>;

export const flowSeriesSchema = z
  .object({
    /** The group's dimension values, in `group_by` order; stringified, null where unknown. */
    key: z.array(z.string().nullable()),
    /** True for the "other" series that sums every group beyond the top N. */
    other: z.boolean(),
    /** One value per bucket (null where the group had no records in that bucket). */
    points: z.array(z.number().nullable()),
    /** Over the whole range: the average rate for volume metrics, the aggregate for the others. */
    summary: z.number().nullable(),
    /** Sums over the whole range, for the table. */
    bytes: z.number(),
    packets: z.number(),
    records: z.number(),
  })
  .strict();
export type FlowSeries = z.infer<typeof flowSeriesSchema>;

export const flowQueryResultSchema = z
  .object({
    metric: flowMetricSchema,
    aggregate: flowAggregateSchema,
    unit: z.string(),
    vantage: z.enum(["src", "dst", "all"]),
    group_by: z.array(flowDimensionSchema),
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    bucket_seconds: z.number().int().positive(),
    /** Start of each bucket. */
    buckets: z.array(z.iso.datetime({ offset: true })),
    series: z.array(flowSeriesSchema),
  })
  .strict();
export type FlowQueryResult = z.infer<typeof flowQueryResultSchema>;
