// Realistic flow records for the flow benchmarks: a fleet of devices, services talking to each other,
// every endpoint field filled where a Kubernetes node would fill it. Deterministic (seeded).
import type { FlowRecord } from "@kernflow/protocol";

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const services = ["checkout", "payments", "catalog", "search", "cart", "auth", "ledger", "mailer"];

/**
 * One node's traffic: 12 local pods (replicas of the services) talking to 8 services, each record one
 * direction of a conversation — (vantage src, egress) for requests, (vantage dst, ingress) for replies.
 * Addresses, ports and pids vary per record, as they do on a real node.
 */
export function benchRecords(
  count: number,
  device: string,
  fromMs: number,
  spanMs: number,
  seed = 1,
): FlowRecord[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const out: FlowRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const start = fromMs + Math.floor((i / count) * spanMs);
    const pod = Math.floor(rand() * 12);
    const local = services[pod % 8] as string;
    const remote = pick(services);
    const request = rand() < 0.5;
    const localAddr = `10.1.${pod}.${1 + Math.floor(rand() * 250)}`;
    const remoteAddr = `10.9.${services.indexOf(remote)}.${1 + Math.floor(rand() * 250)}`;
    const packets = 1 + Math.floor(rand() * 500);
    const localEnd = {
      pid: 1000 + Math.floor(rand() * 5000),
      process_name: local,
      process_cmdline: `/usr/bin/${local} --port 8080`,
      container_id: `c${pod.toString(16).padStart(12, "0")}`,
      container_name: local,
      node: device,
      object_name: `${local}-7d9f-${pod}`,
      object_namespace: "shop",
      object_type: "pod" as const,
      workload_name: local,
      workload_namespace: "shop",
      object_labels: { app: local },
    };
    const remoteEnd = {
      pid: null,
      process_name: null,
      process_cmdline: null,
      container_id: null,
      container_name: null,
      node: null,
      object_name: remote,
      object_namespace: "shop",
      object_type: "service" as const,
      workload_name: remote,
      workload_namespace: "shop",
      object_labels: null,
    };
    const ephemeral = 32_768 + Math.floor(rand() * 28_000);
    out[i] = {
      ts_start: new Date(start).toISOString(),
      ts_end: new Date(start + 9_000).toISOString(),
      device,
      vantage: request ? "src" : "dst",
      interface: "eth0",
      direction: request ? "egress" : "ingress",
      protocol: rand() < 0.9 ? 6 : 17,
      src_addr: request ? localAddr : remoteAddr,
      dst_addr: request ? remoteAddr : localAddr,
      src_port: request ? ephemeral : 8080,
      dst_port: request ? 8080 : ephemeral,
      bytes: packets * (60 + Math.floor(rand() * 1400)),
      packets,
      sample_rate: 1,
      tcp_flags: 0x18,
      retransmits: rand() < 0.1 ? 1 : 0,
      rtt_us: 200 + Math.floor(rand() * 20_000),
      app_latency_ms: request && rand() < 0.5 ? Math.round(rand() * 200_000) / 1000 : null,
      src: request ? localEnd : remoteEnd,
      dst: request ? remoteEnd : localEnd,
      cluster_id: "prod",
    };
  }
  return out;
}
