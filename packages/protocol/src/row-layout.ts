/**
 * The packed row layout of the previous agent version, read (never written) so nothing is lost while a fleet
 * upgrades: receivers (console, aggregator) still take such bodies from agents and aggregators not yet
 * upgraded, and an upgraded agent sends the spool files it left behind (`*.packed.json.gz`). A body is
 *
 *   { "batch_id": "…", "fields": [...rowFields], "endpoints": [{ "process_name": …, … }],
 *     "records": [["2026-11-26T06:00:00Z", "2026-11-26T06:00:09Z", "node-1", "src", …, 0, 812, 1]] }
 *
 * each record an array of values in {@link rowFields} order, `src`/`dst` indexes into `endpoints` (endpoint
 * identities without pid). Decoded to whole records with the same batch id (a batch the old version did post
 * is kept once). Values are not checked here: receivers check the decoded records as whole records.
 */
import type { FlowBatch } from "./agent-protocol";
import type { FlowRecord } from "./flow-record";
import type { EndpointIdentity } from "./packed-batch";

/** Positions of a row's values, as the previous version wrote them (and in every file, as `fields`). */
export const rowFields = [
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
  "src",
  "dst_pid",
  "dst",
] as const;

/** Decodes a parsed row-layout body to whole records; throws if it is not one (another layout, a bad index). */
export function rowLayoutBatch(raw: unknown): FlowBatch {
  const body = raw as { batch_id?: unknown; fields?: unknown; endpoints?: unknown; records?: unknown };
  // `fields` names the positions in every file: a file of any other layout is refused, not misread.
  if (JSON.stringify(body?.fields) !== JSON.stringify(rowFields)) {
    throw new Error("not a batch in the packed row layout (its `fields` differ)");
  }
  if (typeof body.batch_id !== "string" || !Array.isArray(body.endpoints) || !Array.isArray(body.records)) {
    throw new Error("row-layout batch without batch_id, endpoints or records");
  }
  const endpoints = body.endpoints as EndpointIdentity[];
  const endpoint = (pid: number | null, at: number, i: number) => {
    const identity = endpoints[at];
    if (identity === undefined)
      throw new Error(`record ${i} refers to endpoint ${at}, which the batch lacks`);
    return { pid, ...identity };
  };
  const records = (body.records as unknown[]).map((row, i): FlowRecord => {
    if (!Array.isArray(row) || row.length !== rowFields.length) {
      throw new Error(`record ${i} is not an array of ${rowFields.length} values`);
    }
    // Named by position; the pids and endpoint indexes become the two endpoints.
    const { src_pid, src, dst_pid, dst, ...own } = Object.fromEntries(
      rowFields.map((field, k) => [field, row[k]]),
    ) as Record<(typeof rowFields)[number], unknown>;
    return {
      ...own,
      src: endpoint(src_pid as number | null, src as number, i),
      dst: endpoint(dst_pid as number | null, dst as number, i),
    } as FlowRecord;
  });
  return { batch_id: body.batch_id, records };
}
