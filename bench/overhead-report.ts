/** Medians and the printed table of the agent-overhead benchmark. */
import type { Sample, Scenario, Traffic } from "./agent-overhead";

export interface ScenarioSummary {
  runs: number;
  gbits: number;
  /** UDP: million packets per second sent, and the share the receiver got. */
  mppsSent: number;
  delivered: number;
  /** Costs per unit of traffic: per GB received for TCP, per million packets sent for UDP. */
  kernelCpuS: number;
  softirqS: number;
  iperfCpuS: number;
  captureCpuS: number;
  totalCpuS: number;
  bpfNsPerRun: number;
  bpfMs: number;
  capturedShare: number;
}

export interface TrafficSummary {
  traffic: Traffic;
  unit: "GB" | "Mpkt";
  scenarios: Record<Scenario, ScenarioSummary>;
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function summariseScenario(of: Sample[], traffic: Traffic): ScenarioSummary {
  // TCP moves few large (GSO) packets, so cost per byte is what matters; UDP with small datagrams
  // stresses the per-packet path, so cost per packet is what matters.
  const units = (x: Sample) => (traffic === "tcp" ? x.bytes / 1e9 : x.packetsSent / 1e6);
  const per = (pick: (x: Sample) => number) => median(of.map((x) => pick(x) / units(x)));
  return {
    runs: of.length,
    gbits: median(of.map((x) => x.gbits)),
    mppsSent: median(of.map((x) => x.packetsSent / 1e6 / x.seconds)),
    delivered: median(of.map((x) => (x.packetsSent === 0 ? 1 : x.packetsReceived / x.packetsSent))),
    kernelCpuS: per((x) => x.kernelCpuS),
    softirqS: per((x) => x.softirqS),
    iperfCpuS: per((x) => x.iperfCpuS),
    captureCpuS: per((x) => x.captureCpuS),
    totalCpuS: per((x) => x.iperfCpuS + x.captureCpuS),
    bpfNsPerRun: median(of.map((x) => (x.bpfRuns === 0 ? 0 : x.bpfRunNs / x.bpfRuns))),
    bpfMs: per((x) => x.bpfRunNs / 1e6),
    capturedShare: median(
      of.map((x) => (x.capturedBytes === null ? Number.NaN : x.capturedBytes / x.sentBytes)),
    ),
  };
}

export function summarise(samples: Sample[], traffic: Traffic): TrafficSummary {
  const of = (s: Scenario) =>
    summariseScenario(
      samples.filter((x) => x.scenario === s && x.traffic === traffic),
      traffic,
    );
  return {
    traffic,
    unit: traffic === "tcp" ? "GB" : "Mpkt",
    scenarios: { baseline: of("baseline"), kernflow: of("kernflow"), softflowd: of("softflowd") },
  };
}

const fmt = (n: number, digits = 3) => (Number.isNaN(n) ? "-" : n.toFixed(digits));
const ratio = (a: number, b: number) => (b === 0 || Number.isNaN(a / b) ? "-" : `${(a / b).toFixed(2)}x`);

export function printReport(summary: TrafficSummary, seconds: number, rounds: number): void {
  const { unit, scenarios } = summary;
  const base = scenarios.baseline;
  const what = summary.traffic === "tcp" ? "TCP bulk" : "UDP 128-byte datagrams, unlimited rate";
  console.log(
    `\nagent overhead, ${what}, over veth: ${seconds}s per run, ${rounds} interleaved round(s), medians\n`,
  );
  const header = [
    "scenario",
    "Gbit/s",
    "vs base",
    ...(summary.traffic === "udp" ? ["Mpps sent", "delivered"] : []),
    `kernel CPU s/${unit}`,
    "vs base",
    `iperf3 CPU s/${unit}`,
    `capturer CPU s/${unit}`,
    `total s/${unit}`,
    "vs base",
    "BPF ns/run",
    `BPF ms/${unit}`,
  ];
  const rows = [header];
  for (const s of ["baseline", "kernflow", "softflowd"] as const) {
    const x = scenarios[s];
    rows.push([
      s,
      fmt(x.gbits, 2),
      ratio(x.gbits, base.gbits),
      ...(summary.traffic === "udp" ? [fmt(x.mppsSent, 3), `${fmt(x.delivered * 100, 1)} %`] : []),
      fmt(x.kernelCpuS),
      ratio(x.kernelCpuS, base.kernelCpuS),
      fmt(x.iperfCpuS),
      fmt(x.captureCpuS, 4),
      fmt(x.totalCpuS),
      ratio(x.totalCpuS, base.totalCpuS),
      s === "kernflow" ? fmt(x.bpfNsPerRun, 0) : "-",
      s === "kernflow" ? fmt(x.bpfMs, 2) : "-",
    ]);
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  for (const r of rows) {
    console.log(
      r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  "),
    );
  }
  const k = scenarios.kernflow;
  const sf = scenarios.softflowd;
  console.log(
    `\nkernflow vs softflowd: throughput ${ratio(k.gbits, sf.gbits)}, total CPU per ${unit} ${ratio(k.totalCpuS, sf.totalCpuS)}, ` +
      `capturer CPU per ${unit} ${ratio(k.captureCpuS, sf.captureCpuS)}`,
  );
  // Records count L3 bytes: each 128-byte datagram is 156 bytes with its IPv4 and UDP headers.
  const expected = summary.traffic === "udp" ? "exactly 121.88 %" : "about 103.6 % with 1448-byte segments";
  console.log(
    `kernflow's records hold ${fmt(k.capturedShare * 100, 2)} % of the payload bytes iperf3 sent ` +
      `(L3 bytes, headers included: ${expected} when every packet is counted)`,
  );
  console.log(
    "kernel CPU: /proc/stat system+irq+softirq on all CPUs, so any other load on the host is in it; " +
      "iperf3 CPU: its own getrusage (kernel time in its context included); capturer CPU: /proc/<pid>/stat.",
  );
}
