// The per-minute and per-5-minute rollups of a batch: sums per minute and rollup dimension values, added
// to the stored ones in the batch's transaction. A record's dimension values are its context's (device,
// vantage, interface, direction, protocol, cluster) and the rollup parts of its two endpoints, each built
// once per batch, not once per record.
import type pg from "pg";
import { BinaryCopyRows, copyBinary, uuidBytes } from "./binary-copy";
import { rollupDimensions } from "./columns";
import { type CellValue, type ContentDictionary, contentKeyBytes, uuidText } from "./dictionary";
import { FLOW_SCHEMA, writeTarget } from "./partitions";

/** An endpoint's fields that are rollup dimensions, in {@link rollupDimensions}' order of one side. */
export const endpointRollupFields = rollupDimensions
  .filter((d) => d.startsWith("src_"))
  .map((d) => d.slice(4)) as readonly string[];

// The rollup dimensions must be the record's own six, then the src side, then the same fields of the dst
// side: rollupKey below builds the values in that order (they are hashed into the stored dims_key).
const ownRollupFields = ["device", "vantage", "interface", "direction", "protocol", "cluster_id"];
if (
  rollupDimensions.join() !==
  [
    ...ownRollupFields,
    ...endpointRollupFields.map((f) => `src_${f}`),
    ...endpointRollupFields.map((f) => `dst_${f}`),
  ].join()
) {
  throw new Error("rollupDimensions are not the record's own dimensions, then src_…, then the same dst_…");
}

/**
 * A batch's sums per minute and dimension values. A record's dimension values are given as three batch-local
 * indexes (its context's own values, its two endpoints' parts), which make one number per value
 * combination: the groups of a minute are found by number, with no string built per record.
 */
export class RollupSums {
  private readonly minutes = new Map<number, Map<number, RollupGroup>>();
  /** Dimension keys by combination number. */
  private readonly keys = new Map<number, { key: string; keyBytes: Buffer; dims: CellValue[] }>();
  private readonly parts: number;
  private lastMinute = Number.NaN;
  private lastGroups = new Map<number, RollupGroup>();
  private groupCount = 0;

  /**
   * `owns`: the distinct values of the record's own rollup dimensions (device … cluster_id), `endpointParts`
   * the distinct values of an endpoint's ({@link endpointRollupFields}); records refer to both by index.
   */
  constructor(
    private readonly owns: readonly (readonly CellValue[])[],
    private readonly endpointParts: readonly (readonly CellValue[])[],
  ) {
    this.parts = Math.max(1, endpointParts.length);
  }

  /** Adds one record's sums (bytes and packets already scaled by its sample rate). */
  add(
    minuteMs: number,
    own: number,
    src: number,
    dst: number,
    bytes: number,
    packets: number,
    retransmits: number,
  ): void {
    const combination = (own * this.parts + src) * this.parts + dst;
    if (minuteMs !== this.lastMinute) {
      let groups = this.minutes.get(minuteMs);
      if (!groups) {
        groups = new Map();
        this.minutes.set(minuteMs, groups);
      }
      this.lastMinute = minuteMs;
      this.lastGroups = groups;
    }
    let group = this.lastGroups.get(combination);
    if (!group) {
      let dims = this.keys.get(combination);
      if (!dims) {
        const values = [
          ...(this.owns[own] as CellValue[]),
          ...(this.endpointParts[src] as CellValue[]),
          ...(this.endpointParts[dst] as CellValue[]),
        ];
        // The same key as every earlier writer: md5 of the JSON array of the values in rollupDimensions order.
        const keyBytes = contentKeyBytes(JSON.stringify(values));
        dims = { key: uuidText(keyBytes), keyBytes, dims: values };
        this.keys.set(combination, dims);
      }
      group = { minuteMs, key: dims.keyBytes, records: 0, bytes: 0, packets: 0, retransmits: 0 };
      this.lastGroups.set(combination, group);
      this.groupCount += 1;
    }
    group.records += 1;
    group.bytes += bytes;
    group.packets += packets;
    group.retransmits += retransmits;
  }

  /** Dimension values by key, for flows.rollup_dims. */
  dimensionEntries(): Map<string, CellValue[]> {
    return new Map([...this.keys.values()].map((d) => [d.key, d.dims]));
  }

  get size(): number {
    return this.groupCount;
  }

  groupRows(): RollupGroup[] {
    const rows: RollupGroup[] = [];
    for (const groups of this.minutes.values()) for (const g of groups.values()) rows.push(g);
    return rows;
  }
}

interface RollupGroup {
  minuteMs: number;
  key: Buffer;
  records: number;
  bytes: number;
  packets: number;
  retransmits: number;
}

/** Gives endpoints with equal rollup values (they differ in cmdline, container id or labels) one index. */
export class EndpointRollupParts {
  private readonly indexes = new Map<string, number>();
  /** The distinct rollup values, by index. */
  readonly values: CellValue[][] = [];

  indexOf(endpoint: Readonly<Record<string, unknown>>): number {
    const values = endpointRollupFields.map((f) => (endpoint[f] ?? null) as string | null);
    let id = "";
    for (const v of values) id += v === null ? "|-" : `|${v.length}:${v}`;
    let index = this.indexes.get(id);
    if (index === undefined) {
      index = this.values.length;
      this.values.push(values);
      this.indexes.set(id, index);
    }
    return index;
  }
}

const sumColumns = ["plan_id", "minute", "dims_key", "records", "bytes", "packets", "retransmits"];

/**
 * Adds a batch's sums to rollup_1m and rollup_5m, in the caller's transaction; new dimension keys go to
 * rollup_dims first. Returns the dimension keys to remember once committed.
 */
export async function upsertRollup(
  client: pg.PoolClient,
  planId: string,
  sums: RollupSums,
  rollupDims: ContentDictionary,
  /** The one UTC day (start, ms) all the batch's minutes fall in, if they do: its partitions are written directly. */
  day: number | null,
): Promise<string[]> {
  const newKeys = await rollupDims.insertNew(client, sums.dimensionEntries());
  await client.query(
    `CREATE TEMP TABLE IF NOT EXISTS flow_rollup_stage (LIKE ${FLOW_SCHEMA}.rollup_1m) ON COMMIT DELETE ROWS`,
  );
  // Binary COPY, like the records: the server parses no timestamp, uuid or number text.
  const plan = uuidBytes(planId);
  const stage = new BinaryCopyRows(1 << 16);
  for (const r of sums.groupRows()) {
    stage.reserve(128);
    stage.row(sumColumns.length);
    stage.uuid(plan);
    stage.timestampMicros(r.minuteMs * 1000);
    stage.uuid(r.key);
    stage.int64(r.records);
    stage.int64(r.bytes);
    stage.int64(r.packets);
    stage.int64(r.retransmits);
  }
  await copyBinary(client, `flow_rollup_stage (${sumColumns.join(", ")})`, stage.finish());
  const target = (table: "rollup_1m" | "rollup_5m") => writeTarget(table, planId, day);
  await client.query(
    `INSERT INTO ${target("rollup_1m")} AS t (${sumColumns.join(", ")})
     SELECT ${sumColumns.join(", ")} FROM flow_rollup_stage ORDER BY minute, dims_key
     ON CONFLICT (plan_id, minute, dims_key) DO UPDATE SET
       records = t.records + EXCLUDED.records, bytes = t.bytes + EXCLUDED.bytes,
       packets = t.packets + EXCLUDED.packets, retransmits = t.retransmits + EXCLUDED.retransmits`,
  );
  // The 5-minute tier from the same staged sums; epoch arithmetic, so the slots do not depend on the
  // session's time zone.
  await client.query(
    `INSERT INTO ${target("rollup_5m")} AS t (${sumColumns.join(", ")})
     SELECT plan_id, to_timestamp(floor(date_part('epoch', minute) / 300) * 300) AS slot, dims_key,
            sum(records), sum(bytes), sum(packets), sum(retransmits)
       FROM flow_rollup_stage GROUP BY plan_id, slot, dims_key ORDER BY slot, dims_key
     ON CONFLICT (plan_id, minute, dims_key) DO UPDATE SET
       records = t.records + EXCLUDED.records, bytes = t.bytes + EXCLUDED.bytes,
       packets = t.packets + EXCLUDED.packets, retransmits = t.retransmits + EXCLUDED.retransmits`,
  );
  return newKeys;
}
