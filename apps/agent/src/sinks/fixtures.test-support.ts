import { emptyEndpoint, type FlowRecord, flowRecordWith } from "@kernflow/protocol";

/** A valid record for formatter tests; override what the test is about. */
export function sampleRecord(overrides: Partial<FlowRecord> = {}): FlowRecord {
  return flowRecordWith({
    ts_start: "2026-11-25T10:00:00.000Z",
    ts_end: "2026-11-25T10:00:09.500Z",
    device: "node-a",
    src_port: 40000,
    dst_port: 443,
    bytes: 1500,
    packets: 3,
    tcp_flags: 0x18,
    rtt_us: 250,
    src: { ...emptyEndpoint(), pid: 1234, process_name: "curl", process_cmdline: "curl https://x" },
    ...overrides,
  });
}
