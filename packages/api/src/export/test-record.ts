import { emptyEndpoint, type FlowRecord, flowRecordWith } from "@kernflow/protocol";

/**
 * The record "send test record" exports: documentation addresses (RFC 5737 TEST-NET-1, discard port 9),
 * so a collector's operator recognises it and no real conversation is faked.
 */
export function testFlowRecord(now = new Date()): FlowRecord {
  const ts = new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString();
  return flowRecordWith({
    ts_start: ts,
    ts_end: ts,
    device: "kernflow-console-test",
    interface: "test0",
    protocol: 17,
    src_addr: "192.0.2.1",
    dst_addr: "192.0.2.2",
    src_port: 9,
    dst_port: 9,
    bytes: 28,
    src: { ...emptyEndpoint(), process_name: "kernflow-test" },
  });
}
