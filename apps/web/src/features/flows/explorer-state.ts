import {
  type FlowFilter,
  type FlowQuery,
  flowAggregateSchema,
  flowDimensionSchema,
  flowFilterSchema,
  flowMetricSchema,
  flowQuerySchema,
  flowTimeRangeSchema,
  volumeMetrics,
} from "@kernflow/protocol";
import { z } from "zod";

/**
 * What the flows explorer and the latency page show, held entirely in the URL's search parameters so a
 * shared link reproduces the view. Parsing never throws: each bad parameter is reported and replaced by
 * its default, so a mangled link still opens something and says what was wrong.
 */
export interface ExplorerView {
  query: FlowQuery;
  /** Re-query every few seconds over a sliding range. */
  live: boolean;
}

export interface ParsedExplorerView {
  view: ExplorerView;
  /** One line per parameter that could not be used, for people ("top: must be at most 100"). */
  problems: string[];
}

export const rangePresets = [
  { seconds: 300, label: "Last 5 minutes" },
  { seconds: 900, label: "Last 15 minutes" },
  { seconds: 3600, label: "Last hour" },
  { seconds: 6 * 3600, label: "Last 6 hours" },
  { seconds: 86_400, label: "Last 24 hours" },
  { seconds: 7 * 86_400, label: "Last 7 days" },
] as const;

/** Bucket widths offered; "auto" (undefined) lets the server pick about 60 buckets. */
export const bucketChoices = [10, 60, 300, 3600] as const;

/** How often live mode asks again. Agents ship every few seconds, so faster would mostly repeat itself. */
export const LIVE_REFRESH_MS = 2_000;

export const defaultExplorerView: ExplorerView = {
  query: flowQuerySchema.parse({
    metric: "bits_per_s",
    group_by: ["src_process_name", "dst_process_name"],
    range: { last_seconds: 3600 },
  }),
  live: false,
};

const FILTER_SEPARATOR = ":";

/** `src_addr:cidr:10.0.0.0/8`; the value keeps any further colons (IPv6). */
export function encodeFilter(filter: FlowFilter): string {
  return [filter.dimension, filter.op, filter.value].join(FILTER_SEPARATOR);
}

function decodeFilter(text: string): z.ZodSafeParseResult<FlowFilter> {
  const first = text.indexOf(FILTER_SEPARATOR);
  const second = first < 0 ? -1 : text.indexOf(FILTER_SEPARATOR, first + 1);
  if (second < 0) {
    return flowFilterSchema.safeParse({ dimension: text, op: undefined, value: undefined });
  }
  return flowFilterSchema.safeParse({
    dimension: text.slice(0, first),
    op: text.slice(first + 1, second),
    value: text.slice(second + 1),
  });
}

function issuesText(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ");
}

const integerText = z
  .string()
  .regex(/^\d+$/, "must be a whole number")
  .transform((text) => Number.parseInt(text, 10));

export function parseExplorerView(params: URLSearchParams, defaults: ExplorerView): ParsedExplorerView {
  const problems: string[] = [];
  // Reads one parameter through a schema; a bad value is reported and the default kept.
  function read<T>(name: string, schema: z.ZodType<T>, fallback: T): T {
    const raw = params.get(name);
    if (raw === null) return fallback;
    const parsed = schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    problems.push(`${name} "${raw}": ${issuesText(parsed.error)}`);
    return fallback;
  }

  const query: FlowQuery = { ...defaults.query };
  query.metric = read("metric", flowMetricSchema, query.metric);
  query.aggregate = read("aggregate", flowAggregateSchema, query.aggregate);
  if (params.has("group")) {
    const names = (params.get("group") ?? "").split(",").filter((name) => name !== "");
    const groupBy = z
      .array(flowDimensionSchema)
      .max(4)
      .safeParse([...new Set(names)]);
    if (groupBy.success) query.group_by = groupBy.data;
    else problems.push(`group "${params.get("group")}": ${issuesText(groupBy.error)}`);
  }
  if (params.has("filter")) {
    query.filters = [];
    for (const text of params.getAll("filter")) {
      const filter = decodeFilter(text);
      if (filter.success) query.filters.push(filter.data);
      else problems.push(`filter "${text}": ${issuesText(filter.error)}`);
    }
  }
  if (params.has("from") || params.has("to")) {
    const range = flowTimeRangeSchema.safeParse({ from: params.get("from"), to: params.get("to") });
    if (!range.success) problems.push(`from/to: ${issuesText(range.error)}`);
    else if ("from" in range.data && Date.parse(range.data.to) <= Date.parse(range.data.from)) {
      problems.push("from/to: the end of the range must be after its start");
    } else query.range = range.data;
  } else if (params.has("last")) {
    const seconds = read(
      "last",
      integerText.pipe(
        z
          .number()
          .int()
          .min(10)
          .max(31 * 86_400),
      ),
      undefined,
    );
    if (seconds !== undefined) query.range = { last_seconds: seconds };
  }
  query.bucket_seconds = read(
    "bucket",
    integerText.pipe(z.number().int().min(10).max(86_400)).optional(),
    query.bucket_seconds,
  );
  query.top_n = read("top", integerText.pipe(z.number().int().min(1).max(100)), query.top_n);
  query.vantage = read("vantage", z.enum(["src", "dst", "all"]).optional(), query.vantage);
  const live = read("live", z.enum(["0", "1"]), defaults.live ? "1" : "0") === "1";

  // The parts may each be valid and still not make a query together; then the whole view falls back.
  const whole = flowQuerySchema.safeParse(query);
  if (!whole.success) {
    problems.push(`the query as a whole: ${issuesText(whole.error)}`);
    return { view: defaults, problems };
  }
  return { view: { query: whole.data, live }, problems };
}

/** The canonical search parameters of a view; `parseExplorerView` reads them back to the same view. */
export function explorerSearchParams(view: ExplorerView): URLSearchParams {
  const { query } = view;
  const params = new URLSearchParams();
  params.set("metric", query.metric);
  // The aggregate only means something for latency and RTT; leaving it out keeps volume links short.
  if (!volumeMetrics.includes(query.metric)) params.set("aggregate", query.aggregate);
  params.set("group", query.group_by.join(","));
  for (const filter of query.filters) params.append("filter", encodeFilter(filter));
  if ("last_seconds" in query.range) params.set("last", String(query.range.last_seconds));
  else {
    params.set("from", query.range.from);
    params.set("to", query.range.to);
  }
  if (query.bucket_seconds !== undefined) params.set("bucket", String(query.bucket_seconds));
  params.set("top", String(query.top_n));
  if (query.vantage !== undefined) params.set("vantage", query.vantage);
  if (view.live) params.set("live", "1");
  return params;
}

/** Live mode slides a relative window: an absolute range becomes "the last <same length>". */
export function withLive(view: ExplorerView, live: boolean): ExplorerView {
  if (!live || "last_seconds" in view.query.range) return { ...view, live };
  const length = Math.round((Date.parse(view.query.range.to) - Date.parse(view.query.range.from)) / 1000);
  const lastSeconds = Math.min(31 * 86_400, Math.max(10, length));
  return { query: { ...view.query, range: { last_seconds: lastSeconds } }, live };
}
