import { emptyEndpoint, type FlowRecord } from "@kernflow/protocol";

/**
 * The record "send test record" exports: documentation addresses (RFC 5737 TEST-NET-1, discard port 9),
 * so a collector's operator recognises it and no real conversation is faked.
 */
export function testFlowRecord(now = new Date()): FlowRecord {
  const ts = new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString();
  return {
    ts_start: ts,
    ts_end: ts,
    device: "kernflow-console-test",
    vantage: "src",
    interface: "test0",
    direction: "egress",
    protocol: 17,
    src_addr: "192.0.2.1",
    dst_addr: "192.0.2.2",
    src_port: 9,
    dst_port: 9,
    bytes: 28,
    packets: 1,
    sample_rate: 1,
    tcp_flags: 0,
    retransmits: 0,
    rtt_us: null,
    app_latency_ms: null,
    src: { ...emptyEndpoint(), process_name: "kernflow-test" },
    dst: emptyEndpoint(),
    cluster_id: null,
  };
}
