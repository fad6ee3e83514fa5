import { emptyEndpoint, type FlowRecord } from "@kernflow/protocol";

/** A valid record for formatter tests; override what the test is about. */
export function sampleRecord(overrides: Partial<FlowRecord> = {}): FlowRecord {
  return {
    ts_start: "2026-11-25T10:00:00.000Z",
    ts_end: "2026-11-25T10:00:09.500Z",
    device: "node-a",
    vantage: "src",
    interface: "eth0",
    direction: "egress",
    protocol: 6,
    src_addr: "10.0.0.1",
    dst_addr: "10.0.0.2",
    src_port: 40000,
    dst_port: 443,
    bytes: 1500,
    packets: 3,
    sample_rate: 1,
    tcp_flags: 0x18,
    retransmits: 0,
    rtt_us: 250,
    app_latency_ms: null,
    src: { ...emptyEndpoint(), pid: 1234, process_name: "curl", process_cmdline: "curl https://x" },
    dst: emptyEndpoint(),
    cluster_id: null,
    ...overrides,
  };
}
