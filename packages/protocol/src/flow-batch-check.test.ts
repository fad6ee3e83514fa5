// The body reader shared by the console and the aggregator: which form it took, what it hands back, and
// how a rejection is worded. (The fast checks against the schemas over many mutations:
// packages/api/test/flow-batch-check.test.ts, on the benchmark's realistic records.)
import { describe, expect, it } from "vitest";
import {
  checkedFlowRecords,
  checkFlowBatchJson,
  FlowBatchRejection,
  isCertainlyValidBatch,
  isCertainlyValidPackedBatch,
  parseFlowBatchJson,
} from "./flow-batch-check";
import { emptyEndpoint, type FlowRecord, flowRecordWith } from "./flow-record";
import { packFlowBatch } from "./packed-batch";
import { rowLayoutBatchId, rowLayoutBody, rowLayoutRecords } from "./row-layout-sample";

const id = "3f0c9a52-8e1d-4b7a-9c2e-5d4f6a7b8c9d";

function record(i: number): FlowRecord {
  return flowRecordWith({
    ts_start: "2026-11-26T06:00:00.25Z",
    ts_end: "2026-11-26T06:00:09.75Z",
    src_addr: `10.0.0.${i}`,
    dst_addr: i % 2 === 0 ? "2001:db8::1" : "10.9.0.1",
    src_port: 40_000 + i,
    dst_port: 443,
    bytes: 1500 * i,
    packets: i,
    tcp_flags: 0x18,
    rtt_us: 250,
    app_latency_ms: i % 2 === 0 ? null : 1.5,
    src: { ...emptyEndpoint(), pid: 100 + i, process_name: "curl", object_labels: { app: "x" } },
    dst: { ...emptyEndpoint(), object_name: `pod-${i % 3}`, object_type: "pod" },
  });
}
const records = Array.from({ length: 6 }, (_, i) => record(i + 1));
/** A body as it arrives: parsed from JSON text, no object shared with the test's records. */
const wire = (body: unknown): unknown => JSON.parse(JSON.stringify(body));

describe("flow batch body reader", () => {
  it("takes packed bodies as they are and gives back the same records", () => {
    const body = wire(packFlowBatch(id, records));
    expect(isCertainlyValidPackedBatch(body)).toBe(true);
    const checked = checkFlowBatchJson(body);
    expect(checked).toEqual({ form: "packed", batch: body });
    expect(checkedFlowRecords(checked)).toEqual(records);
  });

  it("takes whole-record bodies and packs them for the store", () => {
    const body = wire({ batch_id: id, records });
    expect(isCertainlyValidBatch(body)).toBe(true);
    expect(checkFlowBatchJson(body).form).toBe("records");
    expect(parseFlowBatchJson(body)).toEqual(packFlowBatch(id, records));
  });

  it("accepts IPv6 addresses (checked by the schema's own field schema) and times without a fraction", () => {
    const odd = { ...record(2), ts_start: "2026-11-26T06:00:00Z", src_addr: "fe80::1" };
    const body = wire(packFlowBatch(id, [odd]));
    expect(checkedFlowRecords(checkFlowBatchJson(body))).toEqual([odd]);
  });

  it("names the record and field of a bad column value, the endpoint or context of a bad entry", () => {
    const bad = (edit: (b: ReturnType<typeof packFlowBatch>) => void) => {
      const b = wire(packFlowBatch(id, records)) as ReturnType<typeof packFlowBatch>;
      edit(b);
      return () => parseFlowBatchJson(b);
    };
    expect(
      bad((b) => {
        b.columns.dst_addr[4] = "10.0.0.300";
      }),
    ).toThrow(/^batch rejected: record 4: dst_addr: /);
    expect(
      bad((b) => {
        b.columns.src[1] = 99;
      }),
    ).toThrow(/^batch rejected: record 1: src: refers to endpoint 99, but the batch has \d+$/);
    expect(
      bad((b) => {
        b.columns.context[2] = 5;
      }),
    ).toThrow(/^batch rejected: record 2: context: refers to context 5, but the batch has 1$/);
    expect(
      bad((b) => {
        (b.endpoints[0] as Record<string, unknown>).process_name = 7;
      }),
    ).toThrow(/^batch rejected: endpoint 0: process_name: /);
    expect(
      bad((b) => {
        (b.contexts[0] as Record<string, unknown>).device = "";
      }),
    ).toThrow(/^batch rejected: context 0: device: /);
    expect(
      bad((b) => {
        b.columns.bytes.pop();
      }),
    ).toThrow(/^batch rejected: columns\.bytes: has 5 values, but ts_start has 6/);
    expect(
      bad((b) => {
        (b.columns as Record<string, unknown>).extra = [];
      }),
    ).toThrow(FlowBatchRejection);
  });

  it("reads the row layout of the previous version as the whole records it holds, checked as such", () => {
    const checked = checkFlowBatchJson(JSON.parse(rowLayoutBody));
    expect(checked).toEqual({
      form: "records",
      batch: { batch_id: rowLayoutBatchId, records: rowLayoutRecords },
    });
    const bad = JSON.parse(rowLayoutBody);
    bad.records[1][9] = 70_000; // src_port
    expect(() => parseFlowBatchJson(bad)).toThrow(/^batch rejected: record 1: src_port: /);
    bad.fields = ["ts_start"];
    expect(() => parseFlowBatchJson(bad)).toThrow(/^batch rejected: not a batch in the packed row layout/);
  });

  it("names the record and field of a bad whole record", () => {
    const body = wire({ batch_id: id, records: [record(1), { ...record(2), sample_rate: 0 }] });
    expect(() => parseFlowBatchJson(body)).toThrow(/^batch rejected: record 1: sample_rate: /);
    expect(() => parseFlowBatchJson(null)).toThrow(/^batch rejected: \(body\): /);
  });
});
