import { describe, expect, it } from "vitest";
import { emptyEndpoint, type FlowRecord, flowRecordSchema, flowRecordWith } from "./flow-record";
import {
  endpointIdentityKey,
  endpointIdentitySchema,
  packedFlowBatchSchema,
  packedRecordCount,
  packFlowBatch,
  unpackRecords,
} from "./packed-batch";

function record(i: number, pod: string): FlowRecord {
  return flowRecordWith({
    ts_start: `2026-11-26T06:00:0${i % 10}.25Z`,
    ts_end: `2026-11-26T06:00:0${i % 10}.75Z`,
    vantage: i % 2 === 0 ? "src" : "dst",
    direction: i % 2 === 0 ? "egress" : "ingress",
    src_addr: `10.0.0.${i}`,
    dst_addr: "2001:db8::1",
    src_port: 40_000 + i,
    dst_port: 443,
    bytes: 1500 * i,
    packets: i,
    tcp_flags: 0x18,
    rtt_us: i % 3 === 0 ? null : 250,
    src: {
      ...emptyEndpoint(),
      pid: 100 + i,
      process_name: "curl",
      object_name: pod,
      object_labels: { app: "x" },
    },
    cluster_id: "prod",
  });
}

describe("packed flow batches", () => {
  const records = Array.from({ length: 20 }, (_, i) => record(i, i < 10 ? "a" : "b"));
  const id = "8d1c2a47-5b1e-4a53-9d0e-7f3b2c1a0e99";

  it("writes each endpoint identity and context once, keeps pids on the records, and unpacks to the same records", () => {
    const packed = packFlowBatch(id, records);
    expect(packed.endpoints).toHaveLength(3); // pod a, pod b, the empty destination
    expect(packed.contexts).toHaveLength(2); // src/egress and dst/ingress of node-1 eth0
    expect(packedRecordCount(packed)).toBe(20);
    expect(packed.columns.src_pid[3]).toBe(103);
    expect(packed.columns.context.slice(0, 4)).toEqual([0, 1, 0, 1]);
    expect(packedFlowBatchSchema.parse(JSON.parse(JSON.stringify(packed)))).toEqual(packed);
    const back = unpackRecords(packed);
    expect(back).toEqual(records);
    for (const r of back) expect(flowRecordSchema.safeParse(r).success).toBe(true);
  });

  it("keys an endpoint identity by its fields but the pid, in schema order", () => {
    const e = records[3]?.src as FlowRecord["src"];
    const fields = Object.keys(endpointIdentitySchema.shape) as (keyof typeof endpointIdentitySchema.shape)[];
    expect(endpointIdentityKey(e)).toBe(JSON.stringify(fields.map((f) => e[f])));
    const [one, two] = [
      { ...e, pid: 1 },
      { ...e, pid: 2 },
    ];
    expect(endpointIdentityKey(one)).toBe(endpointIdentityKey(two));
  });

  it("refuses indexes out of range, columns of another length and reversed times, naming the place", () => {
    const packed = packFlowBatch(id, records);
    const bad = structuredClone(packed);
    bad.columns.dst[4] = 9;
    const a = packedFlowBatchSchema.safeParse(bad);
    expect(a.success).toBe(false);
    expect(a.error?.issues[0]?.path).toEqual(["columns", "dst", 4]);
    expect(a.error?.issues[0]?.message).toMatch(/refers to endpoint 9, but the batch has 3/);

    const short = structuredClone(packed);
    short.columns.rtt_us.pop();
    expect(packedFlowBatchSchema.safeParse(short).error?.issues[0]?.path).toEqual(["columns", "rtt_us"]);

    const reversed = structuredClone(packed);
    reversed.columns.ts_end[0] = "2026-11-26T05:00:00Z";
    expect(packedFlowBatchSchema.safeParse(reversed).error?.issues[0]?.message).toMatch(
      /ts_end must not be before/,
    );
  });
});
