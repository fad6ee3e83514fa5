// A packed batch (packages/protocol packed-batch.ts) as the binary COPY rows of flows.records, its
// endpoints as flows.endpoints entries and its rollup sums. Everything that depends on an endpoint or a
// record context alone (its key, dictionary row, encoded values, rollup part) is done once per batch; per
// record only fixed-width writes, the addresses and the rollup sums remain.
import {
  columnMicros,
  type EndpointIdentity,
  endpointIdentityKey,
  type FlowContext,
  flowContextKey,
  type PackedFlowBatch,
  packedRecordCount,
  parseRecordTimeMicros,
} from "@kernflow/protocol";
import { BinaryCopyRows, encodedValues, uuidBytes } from "./binary-copy";
import { endpointIdentityColumns, recordColumns } from "./columns";
import { type CellValue, contentKeyBytes, uuidText } from "./dictionary";
import { dayStart } from "./partitions";
import { EndpointRollupParts, RollupSums } from "./rollup";

/** The key of an endpoint identity in flows.endpoints: md5 of its identity key (the protocol's). */
export function endpointKeyBytes(e: EndpointIdentity): Buffer {
  return contentKeyBytes(endpointIdentityKey(e));
}

export interface BatchRows {
  /** Binary COPY data for flows.records (header and trailer included). */
  chunks: Buffer[];
  /** flows.endpoints rows by key: the identity columns, labels as JSON text. */
  endpoints: Map<string, CellValue[]>;
  rollup: RollupSums;
  /** UTC day starts (ms) of the records' ts_start, for the partitions. */
  days: Set<number>;
}

/** A record context's values, encoded once: device … protocol (one run of columns) and cluster_id. */
interface EncodedContext {
  head: Buffer;
  cluster: Buffer;
  /** Index of its rollup values (contexts with equal values share one). */
  own: number;
}

/** Upper bound of a record's bytes besides its contexts' values (25 fields: 2 + 25 × 4 + values ≤ 300). */
const FIXED_ROW_BYTES = 320;

function encodeContexts(contexts: readonly FlowContext[]): {
  encoded: EncodedContext[];
  owns: CellValue[][];
} {
  const ownIndex = new Map<string, number>();
  const owns: CellValue[][] = [];
  const encoded = contexts.map((c) => {
    const key = flowContextKey(c);
    let own = ownIndex.get(key);
    if (own === undefined) {
      own = owns.length;
      owns.push([c.device, c.vantage, c.interface, c.direction, c.protocol, c.cluster_id]);
      ownIndex.set(key, own);
    }
    const textBytes = 64 + 3 * (c.device.length + c.interface.length + (c.cluster_id?.length ?? 0));
    return {
      head: encodedValues(textBytes, (rows) => {
        rows.text(c.device);
        rows.text(c.vantage);
        rows.text(c.interface);
        rows.text(c.direction);
        rows.int16(c.protocol);
      }),
      cluster: encodedValues(textBytes, (rows) => rows.textOrNull(c.cluster_id)),
      own,
    };
  });
  return { encoded, owns };
}

/** Encodes a batch of records of one device and plan. The batch must be valid (packedFlowBatchSchema). */
export function encodeBatch(
  planId: string,
  deviceId: string,
  batch: Pick<PackedFlowBatch, "endpoints" | "contexts" | "columns">,
): BatchRows {
  const endpoints = new Map<string, CellValue[]>();
  const parts = new EndpointRollupParts();
  const keys: Buffer[] = [];
  const endpointParts = batch.endpoints.map((e) => {
    const key = endpointKeyBytes(e);
    keys.push(key);
    endpoints.set(
      uuidText(key),
      endpointIdentityColumns.map((c) => {
        const v = e[c];
        return v !== null && typeof v === "object" ? JSON.stringify(v) : v;
      }),
    );
    return parts.indexOf(e);
  });
  const { encoded: contexts, owns } = encodeContexts(batch.contexts);
  let contextBytes = 0;
  for (const c of contexts) contextBytes = Math.max(contextBytes, c.head.length + c.cluster.length);

  // plan_id and device_id: the same two fields starting every row.
  const prefix = encodedValues(64, (rows) => {
    rows.uuid(uuidBytes(planId));
    rows.uuid(uuidBytes(deviceId));
  });
  const rows = new BinaryCopyRows();
  const rollup = new RollupSums(owns, parts.values);
  const days = new Set<number>();
  let lastDay = Number.NaN;
  const fields = recordColumns.length;
  const c = batch.columns;
  const n = packedRecordCount(batch);
  // Read by the batch check already (remembered per column); a time the canonical reader does not take
  // (valid by the schema all the same) is read here.
  const starts = columnMicros(c.ts_start);
  const ends = columnMicros(c.ts_end);
  for (let i = 0; i < n; i++) {
    let tsStart = starts[i] as number;
    if (Number.isNaN(tsStart)) tsStart = parseRecordTimeMicros(c.ts_start[i] as string);
    let tsEnd = ends[i] as number;
    if (Number.isNaN(tsEnd)) tsEnd = parseRecordTimeMicros(c.ts_end[i] as string);
    const minuteMs = Math.floor(tsStart / 60_000_000) * 60_000;
    const day = dayStart(minuteMs);
    if (day !== lastDay) {
      days.add(day);
      lastDay = day;
    }
    const context = contexts[c.context[i] as number] as EncodedContext;
    const src = c.src[i] as number;
    const dst = c.dst[i] as number;
    const bytes = c.bytes[i] as number;
    const packets = c.packets[i] as number;
    const retransmits = c.retransmits[i] as number;
    const rate = c.sample_rate[i] as number;
    rows.reserve(FIXED_ROW_BYTES + contextBytes);
    // In recordColumns' order (the COPY's column list); flow-store.test.ts reads every column back.
    rows.row(fields);
    rows.encoded(prefix);
    rows.timestampMicros(tsStart);
    rows.timestampMicros(tsEnd);
    rows.encoded(context.head);
    rows.inet(c.src_addr[i] as string);
    rows.inet(c.dst_addr[i] as string);
    rows.int32(c.src_port[i] as number);
    rows.int32(c.dst_port[i] as number);
    rows.int64(bytes);
    rows.int64(packets);
    rows.int32(rate);
    rows.int32(c.tcp_flags[i] as number);
    rows.int64(retransmits);
    rows.int64OrNull(c.rtt_us[i] as number | null);
    rows.float8OrNull(c.app_latency_ms[i] as number | null);
    rows.encoded(context.cluster);
    rows.int32OrNull(c.src_pid[i] as number | null);
    rows.uuid(keys[src] as Buffer);
    rows.int32OrNull(c.dst_pid[i] as number | null);
    rows.uuid(keys[dst] as Buffer);
    rollup.add(
      minuteMs,
      context.own,
      endpointParts[src] as number,
      endpointParts[dst] as number,
      bytes * rate,
      packets * rate,
      retransmits,
    );
  }
  return { chunks: rows.finish(), endpoints, rollup, days };
}

/** Only the binary COPY data of a batch's flows.records rows (for benchmarks of the raw COPY ceiling). */
export function encodeBatchRows(
  planId: string,
  deviceId: string,
  batch: Pick<PackedFlowBatch, "endpoints" | "contexts" | "columns">,
): Buffer[] {
  return encodeBatch(planId, deviceId, batch).chunks;
}
