// Test data (exported as "@kernflow/protocol/row-layout-sample"): a body in the row layout of the previous
// agent version and the records it holds, for the receivers' and the agent spool's tests.
import { emptyEndpoint, type FlowRecord } from "./flow-record";

/**
 * A spool file body exactly as the previous agent version wrote it (its packFlowBatch's output, copied
 * verbatim, not made by this version's code): two records, two endpoints each used from both sides, pids on
 * the records, a null pid, nullable fields both set and null.
 */
export const rowLayoutBody = `{"batch_id":"00000000-0000-4000-8000-0000000000bb","fields":["ts_start","ts_end","device","vantage","interface","direction","protocol","src_addr","dst_addr","src_port","dst_port","bytes","packets","sample_rate","tcp_flags","retransmits","rtt_us","app_latency_ms","cluster_id","src_pid","src","dst_pid","dst"],"endpoints":[{"process_name":"curl","process_cmdline":"curl https://api","container_id":"c0ffee","container_name":"app","node":"node-a","object_name":"web-1","object_namespace":"shop","object_type":"pod","workload_name":"web","workload_namespace":"shop","object_labels":{"app":"web"}},{"process_name":null,"process_cmdline":null,"container_id":null,"container_name":null,"node":"node-b","object_name":"api","object_namespace":"shop","object_type":"service","workload_name":null,"workload_namespace":null,"object_labels":null}],"records":[["2026-11-25T10:00:00.000Z","2026-11-25T10:00:09.500Z","node-a","src","eth0","egress",6,"10.1.0.7","10.2.0.9",40000,443,1500,3,1,24,2,250,1.5,"prod",812,0,null,1],["2026-11-25T10:00:01.250Z","2026-11-25T10:00:02.000Z","node-a","dst","cni0","ingress",17,"fd00::2","10.1.0.7",53,51000,90,1,10,0,0,null,null,null,null,1,99,0]]}`;

export const rowLayoutBatchId = "00000000-0000-4000-8000-0000000000bb";

const web = {
  ...emptyEndpoint(),
  process_name: "curl",
  process_cmdline: "curl https://api",
  container_id: "c0ffee",
  container_name: "app",
  node: "node-a",
  object_name: "web-1",
  object_namespace: "shop",
  object_type: "pod" as const,
  workload_name: "web",
  workload_namespace: "shop",
  object_labels: { app: "web" },
};
const api = {
  ...emptyEndpoint(),
  node: "node-b",
  object_name: "api",
  object_namespace: "shop",
  object_type: "service" as const,
};

/** The records {@link rowLayoutBody} holds. */
export const rowLayoutRecords: FlowRecord[] = [
  {
    ts_start: "2026-11-25T10:00:00.000Z",
    ts_end: "2026-11-25T10:00:09.500Z",
    device: "node-a",
    vantage: "src",
    interface: "eth0",
    direction: "egress",
    protocol: 6,
    src_addr: "10.1.0.7",
    dst_addr: "10.2.0.9",
    src_port: 40000,
    dst_port: 443,
    bytes: 1500,
    packets: 3,
    sample_rate: 1,
    tcp_flags: 0x18,
    retransmits: 2,
    rtt_us: 250,
    app_latency_ms: 1.5,
    src: { ...web, pid: 812 },
    dst: { ...api, pid: null },
    cluster_id: "prod",
  },
  {
    ts_start: "2026-11-25T10:00:01.250Z",
    ts_end: "2026-11-25T10:00:02.000Z",
    device: "node-a",
    vantage: "dst",
    interface: "cni0",
    direction: "ingress",
    protocol: 17,
    src_addr: "fd00::2",
    dst_addr: "10.1.0.7",
    src_port: 53,
    dst_port: 51000,
    bytes: 90,
    packets: 1,
    sample_rate: 10,
    tcp_flags: 0,
    retransmits: 0,
    rtt_us: null,
    app_latency_ms: null,
    src: { ...api, pid: null },
    dst: { ...web, pid: 99 },
    cluster_id: null,
  },
];
