/**
 * The packed form of a flow batch, what agents send to the console and to aggregators: the same records
 * (CONTRACTS.md §1), stored by column. What a node repeats in every record is written once per batch:
 * each distinct endpoint identity (an endpoint's fields except its pid) in `endpoints`, each distinct
 * record context (device, vantage, interface, direction, protocol, cluster_id) in `contexts`. The rest is
 * one array per field in `columns`, all of one length, the records' count; `context`, `src` and `dst` are
 * indexes into those tables.
 *
 *   { "batch_id": "…",
 *     "endpoints": [{ "process_name": "curl", …, "object_labels": null }, …],
 *     "contexts": [{ "device": "node-1", "vantage": "src", "interface": "eth0", "direction": "egress",
 *                    "protocol": 6, "cluster_id": null }, …],
 *     "columns": { "ts_start": ["2026-11-26T06:00:00.120Z", …], "ts_end": […], "context": [0, …],
 *                  "src_addr": ["10.1.0.7", …], …, "src_pid": [812, …], "src": [0, …], "dst_pid": [null, …],
 *                  "dst": [1, …] } }
 *
 * A receiver decodes a column as one array of numbers or short strings instead of an array per record
 * (gunzip + JSON.parse of the bench's batches: 1.6 → 1.0 µs per record), and checks and stores each endpoint
 * and context once. `columns` must have exactly the keys of {@link packedColumnNames}; a body in the earlier
 * row layout (`fields` and `records`) is refused with a message saying so, and agents then resend whole
 * records.
 */
import { z } from "zod";
import { type Endpoint, endpointSchema, type FlowRecord, flowRecordSchema } from "./flow-record";

/** An endpoint without its pid: what a batch's endpoint table holds (the pid stays on the record). */
export const endpointIdentitySchema = endpointSchema.omit({ pid: true });
export type EndpointIdentity = z.infer<typeof endpointIdentitySchema>;

const r = flowRecordSchema.shape;

/** A record's own low-cardinality fields, written once per batch in `contexts`. */
export const flowContextSchema = z
  .object({
    device: r.device,
    vantage: r.vantage,
    interface: r.interface,
    direction: r.direction,
    protocol: r.protocol,
    cluster_id: r.cluster_id,
  })
  .strict();
export type FlowContext = z.infer<typeof flowContextSchema>;

export const MAX_BATCH_RECORDS = 100_000;
/** Two distinct endpoints per record at most. */
export const MAX_BATCH_ENDPOINTS = 2 * MAX_BATCH_RECORDS;

const endpointRef = z.number().int().nonnegative();
const column = <T extends z.ZodType>(value: T) => z.array(value).max(MAX_BATCH_RECORDS);

/** The columns of a packed batch, each built from the flow record's own field schema (they cannot drift). */
export const packedColumnsSchema = z
  .object({
    ts_start: column(r.ts_start),
    ts_end: column(r.ts_end),
    context: column(endpointRef),
    src_addr: column(r.src_addr),
    dst_addr: column(r.dst_addr),
    src_port: column(r.src_port),
    dst_port: column(r.dst_port),
    bytes: column(r.bytes),
    packets: column(r.packets),
    sample_rate: column(r.sample_rate),
    tcp_flags: column(r.tcp_flags),
    retransmits: column(r.retransmits),
    rtt_us: column(r.rtt_us),
    app_latency_ms: column(r.app_latency_ms),
    src_pid: column(endpointSchema.shape.pid),
    src: column(endpointRef),
    dst_pid: column(endpointSchema.shape.pid),
    dst: column(endpointRef),
  })
  .strict();
export type PackedColumns = z.infer<typeof packedColumnsSchema>;

/** The keys of `columns`, in the order the schema lists them. */
export const packedColumnNames = Object.keys(packedColumnsSchema.shape) as (keyof PackedColumns)[];

/** Which table each index column refers to. */
const references = { context: "contexts", src: "endpoints", dst: "endpoints" } as const;

export const packedFlowBatchSchema = z
  .object({
    batch_id: z.uuid(),
    endpoints: z.array(endpointIdentitySchema).max(MAX_BATCH_ENDPOINTS),
    contexts: z.array(flowContextSchema).max(MAX_BATCH_RECORDS),
    columns: packedColumnsSchema,
  })
  .strict()
  .superRefine((batch, ctx) => {
    const { columns } = batch;
    const n = columns.ts_start.length;
    for (const name of packedColumnNames) {
      if (columns[name].length !== n) {
        ctx.addIssue({
          code: "custom",
          path: ["columns", name],
          message: `has ${columns[name].length} values, but ts_start has ${n}: every column holds one value per record`,
        });
        return;
      }
    }
    for (let i = 0; i < n; i++) {
      if ((columns.ts_end[i] as string) < (columns.ts_start[i] as string)) {
        ctx.addIssue({
          code: "custom",
          path: ["columns", "ts_end", i],
          message: "ts_end must not be before ts_start",
        });
      }
      for (const [name, table] of Object.entries(references) as [
        keyof typeof references,
        "contexts" | "endpoints",
      ][]) {
        const at = columns[name][i] as number;
        if (at >= batch[table].length) {
          ctx.addIssue({
            code: "custom",
            path: ["columns", name, i],
            message: `refers to ${table === "contexts" ? "context" : "endpoint"} ${at}, but the batch has ${batch[table].length}`,
          });
        }
      }
    }
  });
export type PackedFlowBatch = z.infer<typeof packedFlowBatchSchema>;

/** The number of records of a packed batch. */
export function packedRecordCount(batch: Pick<PackedFlowBatch, "columns">): number {
  return batch.columns.ts_start.length;
}

/** True when a parsed JSON body is meant as a packed batch (it has `columns`); decides which schema words errors. */
export function isPackedBatchShape(raw: unknown): boolean {
  return typeof raw === "object" && raw !== null && !Array.isArray(raw) && "columns" in raw;
}

/** True for a body in the row layout of earlier agents (`fields` and `records`), which is no longer read. */
export function isRowPackedBatchShape(raw: unknown): boolean {
  return (
    typeof raw === "object" && raw !== null && !Array.isArray(raw) && "fields" in raw && !("columns" in raw)
  );
}

/**
 * The identity key of an endpoint: the JSON array of its fields except pid, in schema order. Packing
 * dedupes by it, and the flow store hashes it into the endpoint's key in flows.endpoints.
 */
export function endpointIdentityKey(e: EndpointIdentity): string {
  return JSON.stringify([
    e.process_name,
    e.process_cmdline,
    e.container_id,
    e.container_name,
    e.node,
    e.object_name,
    e.object_namespace,
    e.object_type,
    e.workload_name,
    e.workload_namespace,
    e.object_labels,
  ]);
}

/** The identity key of a record context (its fields in schema order): packing and the store dedupe by it. */
export function flowContextKey(c: FlowContext): string {
  return JSON.stringify([c.device, c.vantage, c.interface, c.direction, c.protocol, c.cluster_id]);
}

function identityOf(e: Endpoint): EndpointIdentity {
  const { pid: _pid, ...identity } = e;
  return identity;
}

/** Gives each distinct value (by key) one index in a table of what `make` keeps of it. */
class Interner<In, Out> {
  readonly table: Out[] = [];
  private readonly indexes = new Map<string, number>();
  constructor(
    private readonly key: (value: In) => string,
    private readonly make: (value: In) => Out,
  ) {}
  indexOf(value: In): number {
    const key = this.key(value);
    let i = this.indexes.get(key);
    if (i === undefined) {
      i = this.table.length;
      this.table.push(this.make(value));
      this.indexes.set(key, i);
    }
    return i;
  }
}

function contextOf(x: FlowRecord): FlowContext {
  return {
    device: x.device,
    vantage: x.vantage,
    interface: x.interface,
    direction: x.direction,
    protocol: x.protocol,
    cluster_id: x.cluster_id,
  };
}

/** Packs records: each distinct endpoint identity and record context once, the rest by column. */
export function packFlowBatch(batchId: string, records: readonly FlowRecord[]): PackedFlowBatch {
  const endpoints = new Interner<Endpoint, EndpointIdentity>(endpointIdentityKey, identityOf);
  const contexts = new Interner<FlowRecord, FlowContext>(flowContextKey, contextOf);
  const columns = Object.fromEntries(packedColumnNames.map((name) => [name, new Array(records.length)])) as {
    [K in keyof PackedColumns]: PackedColumns[K][number][];
  };
  records.forEach((x, i) => {
    columns.ts_start[i] = x.ts_start;
    columns.ts_end[i] = x.ts_end;
    columns.context[i] = contexts.indexOf(x);
    columns.src_addr[i] = x.src_addr;
    columns.dst_addr[i] = x.dst_addr;
    columns.src_port[i] = x.src_port;
    columns.dst_port[i] = x.dst_port;
    columns.bytes[i] = x.bytes;
    columns.packets[i] = x.packets;
    columns.sample_rate[i] = x.sample_rate;
    columns.tcp_flags[i] = x.tcp_flags;
    columns.retransmits[i] = x.retransmits;
    columns.rtt_us[i] = x.rtt_us;
    columns.app_latency_ms[i] = x.app_latency_ms;
    columns.src_pid[i] = x.src.pid;
    columns.src[i] = endpoints.indexOf(x.src);
    columns.dst_pid[i] = x.dst.pid;
    columns.dst[i] = endpoints.indexOf(x.dst);
  });
  return {
    batch_id: batchId,
    endpoints: endpoints.table,
    contexts: contexts.table,
    columns,
  };
}

/** The records of a packed batch as full flow records (for consumers of whole records: export, the join). */
export function unpackRecords(
  batch: Pick<PackedFlowBatch, "endpoints" | "contexts" | "columns">,
): FlowRecord[] {
  const c = batch.columns;
  const table = <T>(rows: readonly T[], what: string, at: number): T => {
    const row = rows[at];
    if (row === undefined) throw new Error(`packed record refers to ${what} ${at}, which the batch lacks`);
    return row;
  };
  const endpoint = (pid: number | null, at: number): Endpoint => ({
    pid,
    ...table(batch.endpoints, "endpoint", at),
  });
  const out: FlowRecord[] = new Array(packedRecordCount(batch));
  for (let i = 0; i < out.length; i++) {
    const context = table(batch.contexts, "context", c.context[i] as number);
    out[i] = {
      ts_start: c.ts_start[i] as string,
      ts_end: c.ts_end[i] as string,
      device: context.device,
      vantage: context.vantage,
      interface: context.interface,
      direction: context.direction,
      protocol: context.protocol,
      src_addr: c.src_addr[i] as string,
      dst_addr: c.dst_addr[i] as string,
      src_port: c.src_port[i] as number,
      dst_port: c.dst_port[i] as number,
      bytes: c.bytes[i] as number,
      packets: c.packets[i] as number,
      sample_rate: c.sample_rate[i] as number,
      tcp_flags: c.tcp_flags[i] as number,
      retransmits: c.retransmits[i] as number,
      rtt_us: c.rtt_us[i] as number | null,
      app_latency_ms: c.app_latency_ms[i] as number | null,
      src: endpoint(c.src_pid[i] as number | null, c.src[i] as number),
      dst: endpoint(c.dst_pid[i] as number | null, c.dst[i] as number),
      cluster_id: context.cluster_id,
    };
  }
  return out;
}
