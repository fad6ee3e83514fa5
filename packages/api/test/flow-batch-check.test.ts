// The ingest's hand-written batch check must never call a batch valid that flowBatchSchema rejects (it
// would store a bad record); being stricter only costs speed. Compared on valid records and on many
// single-field mutations of them, each one the kind of mistake an agent could send.
import { type FlowRecord, flowBatchSchema } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import { benchRecords } from "../../../bench/flows/records";
import { isCertainlyValidBatch } from "../src/flows/ingest";

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
  -0.5,
  true,
  {},
  [],
  { a: 1 },
  { a: "b" },
  "10.0.0.256",
  "10.0.0.1",
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
