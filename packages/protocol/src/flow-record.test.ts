import { describe, expect, it } from "vitest";
import { emptyEndpoint, flowRecordSchema } from "./flow-record";

const valid = {
  ts_start: "2026-11-25T10:00:00.000Z",
  ts_end: "2026-11-25T10:00:10.000Z",
  device: "node-a",
  vantage: "src",
  interface: "eth0",
  direction: "egress",
  protocol: 6,
  src_addr: "10.0.0.1",
  dst_addr: "fd00::2",
  src_port: 40000,
  dst_port: 443,
  bytes: 1500,
  packets: 3,
  sample_rate: 1,
  tcp_flags: 0x18,
  retransmits: 0,
  rtt_us: 250,
  app_latency_ms: null,
  src: emptyEndpoint(),
  dst: emptyEndpoint(),
  cluster_id: null,
};

describe("flowRecordSchema", () => {
  it("accepts a record in the contract's shape", () => {
    expect(flowRecordSchema.parse(valid)).toEqual(valid);
  });
  it("rejects an address that is not IPv4 or IPv6 and names the field", () => {
    const r = flowRecordSchema.safeParse({ ...valid, src_addr: "10.0.0.256" });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["src_addr"]);
  });
  it("rejects unknown fields", () => {
    expect(flowRecordSchema.safeParse({ ...valid, extra: 1 }).success).toBe(false);
  });
  it("rejects an interval that ends before it starts", () => {
    const r = flowRecordSchema.safeParse({ ...valid, ts_end: "2026-11-25T09:00:00.000Z" });
    expect(r.error?.issues[0]?.path).toEqual(["ts_end"]);
  });
});
