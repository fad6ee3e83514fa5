// A packed batch (packages/protocol packed-batch.ts) as the binary COPY rows of flows.records, its
// endpoints as flows.endpoints entries and its rollup sums. Everything that depends on an endpoint alone
// (its key, key bytes, dictionary row, rollup part) is done once per endpoint of the batch; per record
// only fixed-width writes and the rollup grouping remain.
import {
  type EndpointIdentity,
  endpointIdentityKey,
  type PackedFlowBatch,
  packedRecordFields,
  parseRecordTimeMicros,
} from "@kernflow/protocol";
import { BinaryCopyRows, uuidBytes } from "./binary-copy";
import { endpointIdentityColumns, recordColumns } from "./columns";
import { type CellValue, contentKeyBytes, uuidText } from "./dictionary";
import { dayStart } from "./partitions";
import { type EndpointRollupPart, EndpointRollupParts, RollupSums } from "./rollup";

// The positions this file and rollup.ts read packed records at (literal indexes keep the tuple's types);
// flows.records' columns follow the same order (columns.ts derives them from packedRecordFields).
const expectedFields =
  "ts_start ts_end device vantage interface direction protocol src_addr dst_addr src_port dst_port bytes packets sample_rate tcp_flags retransmits rtt_us app_latency_ms cluster_id src_pid src dst_pid dst";
if (packedRecordFields.join(" ") !== expectedFields) {
  throw new Error("packedRecordFields changed: update the positions read in record-rows.ts and rollup.ts");
}

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

/** Upper bound of a record's bytes besides its variable text (25 fields: 2 + 25 × 4 + values ≤ 300). */
const FIXED_ROW_BYTES = 320;

/** Encodes a batch of records of one device and plan. The batch must be valid (packedFlowBatchSchema). */
export function encodeBatch(
  planId: string,
  deviceId: string,
  batch: Pick<PackedFlowBatch, "endpoints" | "records">,
): BatchRows {
  const endpoints = new Map<string, CellValue[]>();
  const parts = new EndpointRollupParts();
  const keys: Buffer[] = [];
  const rollupParts = batch.endpoints.map((e) => {
    const key = endpointKeyBytes(e);
    keys.push(key);
    endpoints.set(
      uuidText(key),
      endpointIdentityColumns.map((c) => {
        const v = e[c];
        return v !== null && typeof v === "object" ? JSON.stringify(v) : v;
      }),
    );
    return parts.partOf(e);
  });

  const plan = uuidBytes(planId);
  const device = uuidBytes(deviceId);
  const rows = new BinaryCopyRows();
  const rollup = new RollupSums(Math.max(1, parts.size));
  const days = new Set<number>();
  let lastDay = Number.NaN;
  const fields = recordColumns.length;
  // Records of one agent interval share their times: each distinct text is parsed once in a run.
  let startText = "";
  let tsStart = 0;
  let endText = "";
  let tsEnd = 0;
  for (const x of batch.records) {
    if (x[0] !== startText) {
      startText = x[0];
      tsStart = parseRecordTimeMicros(startText);
    }
    if (x[1] !== endText) {
      endText = x[1];
      tsEnd = parseRecordTimeMicros(endText);
    }
    const minuteMs = Math.floor(tsStart / 60_000_000) * 60_000;
    const day = dayStart(minuteMs);
    if (day !== lastDay) {
      days.add(day);
      lastDay = day;
    }
    const cluster = x[18];
    rows.reserve(
      FIXED_ROW_BYTES + 3 * (x[2].length + x[3].length + x[4].length + x[5].length + (cluster?.length ?? 0)),
    );
    rows.row(fields);
    rows.uuid(plan);
    rows.uuid(device);
    rows.timestampMicros(tsStart);
    rows.timestampMicros(tsEnd);
    rows.text(x[2]);
    rows.text(x[3]);
    rows.text(x[4]);
    rows.text(x[5]);
    rows.int16(x[6]);
    rows.inet(x[7]);
    rows.inet(x[8]);
    rows.int32(x[9]);
    rows.int32(x[10]);
    rows.int64(x[11]);
    rows.int64(x[12]);
    rows.int32(x[13]);
    rows.int32(x[14]);
    rows.int64(x[15]);
    rows.int64OrNull(x[16]);
    rows.float8OrNull(x[17]);
    rows.textOrNull(cluster);
    rows.int32OrNull(x[19]);
    rows.uuid(keys[x[20]] as Buffer);
    rows.int32OrNull(x[21]);
    rows.uuid(keys[x[22]] as Buffer);
    rollup.add(
      minuteMs,
      x,
      rollupParts[x[20]] as EndpointRollupPart,
      rollupParts[x[22]] as EndpointRollupPart,
    );
  }
  return { chunks: rows.finish(), endpoints, rollup, days };
}

/** Only the binary COPY data of a batch's flows.records rows (for benchmarks of the raw COPY ceiling). */
export function encodeBatchRows(
  planId: string,
  deviceId: string,
  batch: Pick<PackedFlowBatch, "endpoints" | "records">,
): Buffer[] {
  return encodeBatch(planId, deviceId, batch).chunks;
}
