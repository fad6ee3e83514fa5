// The receivers' hand-written batch checks (whole records and packed by column) must never call a batch valid that
// its schema rejects (it would store a bad record); being stricter only costs speed. Compared on valid
// records and on many single-field mutations of them, each one the kind of mistake an agent could send.
import {
  checkedFlowRecords,
  checkFlowBatchJson,
  FlowBatchRejection,
  type FlowRecord,
  flowBatchSchema,
  isCertainlyValidBatch,
  isCertainlyValidPackedBatch,
  packedColumnNames,
  packedFlowBatchSchema,
  packFlowBatch,
  parseFlowBatchJson,
} from "@kernflow/protocol";
import { rowLayoutBatchId, rowLayoutBody, rowLayoutRecords } from "@kernflow/protocol/row-layout-sample";
import { describe, expect, it } from "vitest";
import { benchRecords } from "../../../bench/flows/records";

const base = benchRecords(3, "node-1", Date.parse("2026-11-25T10:00:00.000Z"), 60_000, 3);
const uuid = "0b7e6a0c-3f7e-4f52-9d1c-6f0b8c1a2e3d";

// Values that are wrong for some field and right for others; each is put into every field in turn.
const oddValues: unknown[] = [
  null,
  "",
  "x",
  "src",
  "egress",
  "pod",
  -1,
  0,
  1,
  1.5,
  256,
  65536,
  0x1000,
  2 ** 53,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 + 1,
  -0.5,
  true,
  {},
  [],
  { a: 1 },
  { a: "b" },
  "10.0.0.256",
  "10.0.0.1",
  "0.0.0.0",
  "255.255.255.255",
  "01.2.3.4",
  "1.2.3.04",
  "1.2.3.00",
  "1.2.3",
  "1.2.3.4.5",
  "1..3.4",
  "256.1.1.1",
  "1.2.3.-4",
  " 1.2.3.4",
  "1.2.3.4 ",
  "1.2.3.4/32",
  "1000.2.3.4",
  "::ffff:1.2.3.4",
  "::1",
  "fe80::1",
  "1::2::3",
  "2026-11-25T10:00:00Z",
  "2026-11-25T10:00:00",
  "2026-02-30T10:00:00.000Z",
  "2026-11-25T10:00:00+01:00",
  "2030-01-01T00:00:00.000Z",
];

function variants(): unknown[] {
  const out: unknown[] = [];
  const record = base[0] as FlowRecord;
  for (const key of Object.keys(record) as (keyof FlowRecord)[]) {
    for (const v of oddValues) out.push({ ...record, [key]: v });
    const { [key]: _dropped, ...missing } = record;
    out.push(missing);
  }
  for (const side of ["src", "dst"] as const) {
    for (const key of Object.keys(record[side])) {
      for (const v of oddValues) out.push({ ...record, [side]: { ...record[side], [key]: v } });
    }
    out.push({ ...record, [side]: { ...record[side], extra: null } });
    out.push({ ...record, [side]: { ...record[side], object_labels: { app: 1 } } });
  }
  out.push({ ...record, extra: 1 });
  return out;
}

describe("ingest batch check", () => {
  it("accepts valid batches exactly as the schema does", () => {
    const batch = { batch_id: uuid, records: base };
    expect(flowBatchSchema.safeParse(batch).success).toBe(true);
    expect(isCertainlyValidBatch(batch)).toBe(true);
  });

  it("never accepts a record the schema rejects, over every single-field mutation", () => {
    let rejectedBySchema = 0;
    for (const record of variants()) {
      const batch = { batch_id: uuid, records: [base[1], record] };
      const schemaOk = flowBatchSchema.safeParse(batch).success;
      if (!schemaOk) rejectedBySchema++;
      // Fast "valid" implies schema valid.
      if (isCertainlyValidBatch(batch)) expect({ record, schemaOk }).toEqual({ record, schemaOk: true });
    }
    expect(rejectedBySchema).toBeGreaterThan(500);
  });

  it("rejects bad batch envelopes the schema rejects", () => {
    for (const batch of [
      null,
      [],
      { batch_id: "nope", records: [] },
      { batch_id: uuid },
      { batch_id: uuid, records: {} },
      { batch_id: uuid, records: [], extra: 1 },
    ]) {
      expect(flowBatchSchema.safeParse(batch).success).toBe(false);
      expect(isCertainlyValidBatch(batch)).toBe(false);
    }
  });
});

const packed = packFlowBatch(
  uuid,
  benchRecords(20, "node-1", Date.parse("2026-11-25T10:00:00.000Z"), 60_000, 5),
);
const clone = <T>(v: T): T => structuredClone(v);
/** A packed batch's columns as loosely typed arrays, to put wrong values into. */
const columnsOf = (b: typeof packed) => b.columns as unknown as Record<string, unknown[]>;

/** Single mutations of a packed batch: every column, every endpoint and context field, the envelope. */
function packedVariants(): unknown[] {
  const out: unknown[] = [];
  const n = packed.endpoints.length;
  const m = packed.contexts.length;
  for (const name of packedColumnNames) {
    for (const v of [...oddValues, n, n - 1, m, m - 1, 2.5]) {
      const b = clone(packed);
      columnsOf(b)[name]?.splice(1, 1, v);
      out.push(b);
    }
    // One value too few or too many in one column.
    for (const change of [(c: unknown[]) => c.pop(), (c: unknown[]) => c.push(c[0])]) {
      const b = clone(packed);
      change(columnsOf(b)[name] as unknown[]);
      out.push(b);
    }
    for (const v of [null, {}, "x", 1]) {
      const b = clone(packed);
      columnsOf(b)[name] = v as never;
      out.push(b);
    }
    const { [name]: _dropped, ...missing } = clone(packed.columns);
    out.push({ ...clone(packed), columns: missing });
  }
  const swapped = clone(packed);
  swapped.columns.ts_start[1] = packed.columns.ts_end[1] as string;
  swapped.columns.ts_end[1] = packed.columns.ts_start[1] as string;
  out.push(swapped);
  out.push({ ...clone(packed), columns: { ...clone(packed.columns), extra: [] } });
  for (const [table, first] of [
    ["endpoints", packed.endpoints[0]],
    ["contexts", packed.contexts[0]],
  ] as const) {
    for (const key of Object.keys(first ?? {})) {
      for (const v of oddValues) {
        const b = clone(packed);
        (b[table][0] as Record<string, unknown>)[key] = v;
        out.push(b);
      }
      const b = clone(packed);
      delete (b[table][0] as Record<string, unknown>)[key];
      out.push(b);
    }
  }
  for (const extra of [{ pid: 1 }, { extra: null }, { object_labels: { app: 1 } }]) {
    const b = clone(packed);
    Object.assign(b.endpoints[0] as object, extra);
    out.push(b);
  }
  for (const extra of [{ src_addr: "10.0.0.1" }, { extra: null }]) {
    const b = clone(packed);
    Object.assign(b.contexts[0] as object, extra);
    out.push(b);
  }
  for (const [key, v] of [
    ["batch_id", "nope"],
    ["endpoints", {}],
    ["endpoints", [null]],
    ["contexts", {}],
    ["contexts", [null]],
    ["columns", {}],
    ["columns", null],
    ["columns", []],
    // The row layout's envelope keys next to columns.
    ["fields", ["ts_start"]],
    ["records", []],
    ["extra", 1],
  ] as const) {
    out.push({ ...clone(packed), [key]: v });
  }
  for (const key of ["batch_id", "endpoints", "contexts", "columns"]) {
    const { [key as keyof typeof packed]: _dropped, ...missing } = clone(packed);
    out.push(missing);
  }
  return out;
}

describe("packed batch check", () => {
  it("accepts valid packed batches exactly as the schema does", () => {
    expect(packedFlowBatchSchema.safeParse(packed).success).toBe(true);
    expect(isCertainlyValidPackedBatch(packed)).toBe(true);
    expect(isCertainlyValidPackedBatch(JSON.parse(JSON.stringify(packed)))).toBe(true);
    const empty = packFlowBatch(uuid, []);
    expect(packedFlowBatchSchema.safeParse(empty).success).toBe(true);
    expect(isCertainlyValidPackedBatch(empty)).toBe(true);
  });

  it("never accepts a packed batch the schema rejects, over every single mutation", () => {
    let rejectedBySchema = 0;
    let variants = 0;
    for (const batch of packedVariants()) {
      variants++;
      const schemaOk = packedFlowBatchSchema.safeParse(batch).success;
      if (!schemaOk) rejectedBySchema++;
      if (isCertainlyValidPackedBatch(batch)) expect({ batch, schemaOk }).toMatchObject({ schemaOk: true });
    }
    expect(variants).toBeGreaterThan(1000);
    expect(rejectedBySchema).toBeGreaterThan(700);
  });
});

describe("address check", () => {
  it("accepts exactly the dotted quads the schema accepts", () => {
    const parts = ["0", "00", "7", "01", "10", "99", "100", "255", "256", "1000"];
    const one = packFlowBatch(uuid, [base[0] as FlowRecord]);
    let accepted = 0;
    for (const a of parts)
      for (const b of parts)
        for (const c of parts)
          for (const d of [...parts, "1.2", ""]) {
            one.columns.src_addr[0] = `${a}.${b}.${c}.${d}`;
            const fast = isCertainlyValidPackedBatch(one);
            expect({ address: `${a}.${b}.${c}.${d}`, fast }).toEqual({
              address: `${a}.${b}.${c}.${d}`,
              fast: packedFlowBatchSchema.safeParse(one).success,
            });
            if (fast) accepted++;
          }
    expect(accepted).toBe(6 ** 4);
  });
});

describe("flow batch body reader", () => {
  const records = base;

  it("packs whole records and keeps packed bodies as they came", () => {
    const fromWhole = parseFlowBatchJson(JSON.parse(JSON.stringify({ batch_id: uuid, records })));
    expect(fromWhole).toEqual(packFlowBatch(uuid, records));
    const checked = checkFlowBatchJson(JSON.parse(JSON.stringify(packFlowBatch(uuid, records))));
    expect(checked.form).toBe("packed");
    expect(checkedFlowRecords(checked)).toEqual(records);
    expect(checkedFlowRecords(checkFlowBatchJson({ batch_id: uuid, records }))).toEqual(records);
  });

  it("names the record and the column of a packed record's bad value", () => {
    const bad = clone(packed);
    bad.columns.src_port[7] = 70_000;
    expect(() => parseFlowBatchJson(bad)).toThrow(/^batch rejected: record 7: src_port: /);
    const backwards = clone(packed);
    backwards.columns.ts_end[3] = "2020-01-01T00:00:00Z";
    expect(() => parseFlowBatchJson(backwards)).toThrow(
      "batch rejected: record 3: ts_end: ts_end must not be before ts_start",
    );
    const dangling = clone(packed);
    dangling.columns.dst[2] = packed.endpoints.length;
    expect(() => parseFlowBatchJson(dangling)).toThrow(
      `batch rejected: record 2: dst: refers to endpoint ${packed.endpoints.length}, but the batch has ${packed.endpoints.length}`,
    );
    const noContext = clone(packed);
    noContext.columns.context[4] = packed.contexts.length;
    expect(() => parseFlowBatchJson(noContext)).toThrow(
      /^batch rejected: record 4: context: refers to context /,
    );
    const short = clone(packed);
    short.columns.bytes.pop();
    expect(() => parseFlowBatchJson(short)).toThrow(
      "batch rejected: columns.bytes: has 19 values, but ts_start has 20: every column holds one value per record",
    );
  });

  it("names the endpoint or the context of a bad value written once per batch", () => {
    const endpoint = clone(packed);
    (endpoint.endpoints[1] as Record<string, unknown>).object_type = "node";
    expect(() => parseFlowBatchJson(endpoint)).toThrow(/^batch rejected: endpoint 1: object_type: /);
    expect(packed.contexts.length).toBeGreaterThan(1);
    const last = packed.contexts.length - 1;
    const context = clone(packed);
    (context.contexts[last] as Record<string, unknown>).device = "";
    expect(() => parseFlowBatchJson(context)).toThrow(
      new RegExp(`^batch rejected: context ${last}: device: `),
    );
  });

  it("reads the previous version's row layout as the whole records it holds, checked as such", () => {
    // A body as agents and aggregators of the previous version packed it (one array of values per record):
    // receivers still take it, so a fleet can upgrade in any order.
    expect(checkFlowBatchJson(JSON.parse(rowLayoutBody))).toEqual({
      form: "records",
      batch: { batch_id: rowLayoutBatchId, records: rowLayoutRecords },
    });
    expect(parseFlowBatchJson(JSON.parse(rowLayoutBody))).toEqual(
      packFlowBatch(rowLayoutBatchId, rowLayoutRecords),
    );
    // Its values are checked as whole records' are, naming the record and field.
    const badPort = JSON.parse(rowLayoutBody);
    badPort.records[1][9] = 70_000; // src_port
    expect(() => checkFlowBatchJson(badPort)).toThrow(/^batch rejected: record 1: src_port: /);
    const badProtocol = JSON.parse(rowLayoutBody);
    badProtocol.records[0][6] = 999; // protocol
    expect(() => parseFlowBatchJson(badProtocol)).toThrow(/^batch rejected: record 0: protocol: /);
    // Rows of other fields than that version wrote are refused, not misread.
    const otherFields = {
      batch_id: uuid,
      fields: ["ts_start", "ts_end", "device", "vantage", "interface", "direction", "protocol", "src_addr"],
      endpoints: [],
      records: [],
    };
    expect(() => checkFlowBatchJson(otherFields)).toThrow(FlowBatchRejection);
  });

  it("names the record and the field of a whole record's bad value", () => {
    const bad = { batch_id: uuid, records: [base[0], { ...base[1], protocol: 999 }] };
    expect(() => parseFlowBatchJson(bad)).toThrow(/^batch rejected: record 1: protocol: /);
    expect(() => parseFlowBatchJson({ batch_id: "x", records: [] })).toThrow(/^batch rejected: batch_id: /);
  });
});
