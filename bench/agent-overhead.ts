/**
 * What does capturing cost? iperf3 TCP over a veth pair between two private namespaces, measured three
 * ways in interleaved rounds: no capture, kernflow capturing (the real CLI, spawned), and softflowd
 * (libpcap) capturing the same interface. Reports throughput, CPU per GB moved, the capturer's own CPU
 * and, for kernflow, the in-kernel run time of its BPF programs; ratios are against the baseline.
 *
 *   npm run bench:agent -w @kernflow/bench -- [--seconds 8] [--rounds 3] [--json FILE]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { z } from "zod";
import {
  bpfProgramStats,
  createVethLab,
  diffSystemCpu,
  exited,
  processCpu,
  sh,
  systemCpu,
  type VethLab,
  waitForLine,
} from "./lab";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const agentBin = join(repoRoot, "apps/agent/bin/kernflow-agent.js");

const flagsSchema = z.object({
  seconds: z.coerce.number().int().min(2).max(120),
  rounds: z.coerce.number().int().min(1).max(20),
  json: z.string().min(1).optional(),
});

type Scenario = "baseline" | "kernflow" | "softflowd";

interface Sample {
  scenario: Scenario;
  gbits: number;
  bytes: number;
  /** CPU seconds of the iperf3 client and server processes (user + system, as iperf3 reports). */
  iperfCpuS: number;
  /** System-wide kernel time (system + irq + softirq) over the run, all CPUs. */
  kernelCpuS: number;
  softirqS: number;
  /** CPU seconds of the capturing process itself. */
  captureCpuS: number;
  bpfRunNs: number;
  bpfRuns: number;
  /** Bytes of the iperf3 data connection the capturer reported (kernflow only). */
  capturedBytes: number | null;
}

const iperfSchema = z.object({
  end: z.object({
    sum_received: z.object({ bytes: z.number(), bits_per_second: z.number(), seconds: z.number() }),
    cpu_utilization_percent: z.object({ host_total: z.number(), remote_total: z.number() }),
  }),
});

interface Capture {
  pid: number;
  stop(): Promise<{ capturedBytes: number | null }>;
}

async function startKernflow(lab: VethLab): Promise<Capture> {
  const child = lab.spawnIn(lab.client, [
    process.execPath,
    agentBin,
    "capture",
    "--interfaces",
    lab.clientIf,
    "--interval",
    "1s",
    "--format",
    "ndjson",
    "--device",
    "bench",
  ]);
  let capturedBytes = 0;
  const stdout = child.stdout;
  if (stdout === null) throw new Error("agent has no stdout pipe");
  createInterface({ input: stdout }).on("line", (line) => {
    const record = JSON.parse(line) as {
      dst_port: number;
      src_port: number;
      protocol: number;
      bytes: number;
      direction: string;
    };
    // The iperf3 data stream, as it left the client (egress on the client's veth end).
    if (record.protocol === 6 && record.dst_port === 5201 && record.direction === "egress")
      capturedBytes += record.bytes;
  });
  await waitForLine(child, /attached to /, 60_000);
  return {
    pid: child.pid as number,
    async stop() {
      child.kill("SIGINT");
      const code = await exited(child);
      if (code !== 0) throw new Error(`kernflow-agent exited ${code}`);
      return { capturedBytes };
    },
  };
}

async function startSoftflowd(lab: VethLab, dir: string): Promise<Capture> {
  const control = join(dir, "softflowd.ctl");
  const child = lab.spawnIn(lab.client, [
    "softflowd",
    "-d",
    "-i",
    lab.clientIf,
    "-n",
    "127.0.0.1:2055",
    "-v",
    "9",
    "-p",
    join(dir, "softflowd.pid"),
    "-c",
    control,
  ]);
  // softflowd prints nothing when ready in -d mode; its control socket answering means pcap is open.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await sh(["ip", "netns", "exec", lab.client, "softflowctl", "-c", control, "statistics"]);
      break;
    } catch (error) {
      if (child.exitCode !== null) throw new Error(`softflowd exited ${child.exitCode}`);
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    pid: child.pid as number,
    async stop() {
      child.kill("SIGTERM");
      await exited(child);
      return { capturedBytes: null };
    },
  };
}

async function runIperf(lab: VethLab, seconds: number): Promise<z.infer<typeof iperfSchema>> {
  const server = lab.spawnIn(lab.server, ["iperf3", "-s", "-1", "--forceflush", "-B", lab.serverAddr]);
  await waitForLine(server, /Server listening/, 10_000);
  const out = await sh([
    "ip",
    "netns",
    "exec",
    lab.client,
    "iperf3",
    "-c",
    lab.serverAddr,
    "-t",
    String(seconds),
    "-J",
  ]);
  await exited(server);
  return iperfSchema.parse(JSON.parse(out));
}

async function measure(lab: VethLab, scenario: Scenario, seconds: number, dir: string): Promise<Sample> {
  let capture: Capture | null = null;
  if (scenario === "kernflow") capture = await startKernflow(lab);
  if (scenario === "softflowd") capture = await startSoftflowd(lab, dir);
  try {
    const cpuBefore = systemCpu();
    const captureBefore = capture === null ? null : processCpu(capture.pid);
    const bpfBefore = capture === null ? null : bpfProgramStats(capture.pid);
    const iperf = await runIperf(lab, seconds);
    const cpu = diffSystemCpu(cpuBefore, systemCpu());
    const captureAfter = capture === null ? null : processCpu(capture.pid);
    const bpfAfter = capture === null ? null : bpfProgramStats(capture.pid);
    const stopped = capture === null ? { capturedBytes: null } : await capture.stop();
    capture = null;
    const r = iperf.end.sum_received;
    const pct = iperf.end.cpu_utilization_percent;
    return {
      scenario,
      gbits: r.bits_per_second / 1e9,
      bytes: r.bytes,
      iperfCpuS: ((pct.host_total + pct.remote_total) / 100) * r.seconds,
      kernelCpuS: cpu.system + cpu.irq + cpu.softirq,
      softirqS: cpu.softirq,
      captureCpuS:
        captureBefore === null || captureAfter === null
          ? 0
          : captureAfter.user + captureAfter.system - captureBefore.user - captureBefore.system,
      bpfRunNs: bpfBefore === null || bpfAfter === null ? 0 : bpfAfter.runTimeNs - bpfBefore.runTimeNs,
      bpfRuns: bpfBefore === null || bpfAfter === null ? 0 : bpfAfter.runCount - bpfBefore.runCount,
      capturedBytes: stopped.capturedBytes,
    };
  } finally {
    await capture?.stop().catch(() => undefined);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

interface ScenarioSummary {
  runs: number;
  gbits: number;
  kernelCpuSPerGb: number;
  softirqSPerGb: number;
  iperfCpuSPerGb: number;
  captureCpuSPerGb: number;
  totalCpuSPerGb: number;
  bpfNsPerRun: number;
  bpfMsPerGb: number;
  capturedShare: number;
}

function summariseScenario(of: Sample[]): ScenarioSummary {
  const perGb = (pick: (x: Sample) => number) => median(of.map((x) => pick(x) / (x.bytes / 1e9)));
  return {
    runs: of.length,
    gbits: median(of.map((x) => x.gbits)),
    kernelCpuSPerGb: perGb((x) => x.kernelCpuS),
    softirqSPerGb: perGb((x) => x.softirqS),
    iperfCpuSPerGb: perGb((x) => x.iperfCpuS),
    captureCpuSPerGb: perGb((x) => x.captureCpuS),
    totalCpuSPerGb: perGb((x) => x.iperfCpuS + x.captureCpuS),
    bpfNsPerRun: median(of.map((x) => (x.bpfRuns === 0 ? 0 : x.bpfRunNs / x.bpfRuns))),
    bpfMsPerGb: perGb((x) => x.bpfRunNs / 1e6),
    capturedShare: median(of.map((x) => (x.capturedBytes === null ? Number.NaN : x.capturedBytes / x.bytes))),
  };
}

function summarise(samples: Sample[]): Record<Scenario, ScenarioSummary> {
  const of = (s: Scenario) => summariseScenario(samples.filter((x) => x.scenario === s));
  return { baseline: of("baseline"), kernflow: of("kernflow"), softflowd: of("softflowd") };
}

function printReport(summary: Record<Scenario, ScenarioSummary>, seconds: number, rounds: number): void {
  const base = summary.baseline;
  const fmt = (n: number | undefined, digits = 3) =>
    n === undefined || Number.isNaN(n) ? "-" : n.toFixed(digits);
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b === 0 ? "-" : `${(a / b).toFixed(2)}x`;
  console.log(
    `\nagent overhead: iperf3 TCP over veth, ${seconds}s per run, ${rounds} interleaved round(s), medians\n`,
  );
  const rows = [
    [
      "scenario",
      "Gbit/s",
      "vs base",
      "kernel CPU s/GB",
      "vs base",
      "iperf3 CPU s/GB",
      "capturer CPU s/GB",
      "total s/GB",
      "vs base",
      "BPF ns/run",
      "BPF ms/GB",
    ],
  ];
  for (const s of ["baseline", "kernflow", "softflowd"] as const) {
    const x = summary[s];
    rows.push([
      s,
      fmt(x.gbits, 2),
      ratio(x.gbits, base.gbits),
      fmt(x.kernelCpuSPerGb),
      ratio(x.kernelCpuSPerGb, base.kernelCpuSPerGb),
      fmt(x.iperfCpuSPerGb),
      fmt(x.captureCpuSPerGb, 4),
      fmt(x.totalCpuSPerGb),
      ratio(x.totalCpuSPerGb, base.totalCpuSPerGb),
      s === "kernflow" ? fmt(x.bpfNsPerRun, 0) : "-",
      s === "kernflow" ? fmt(x.bpfMsPerGb, 2) : "-",
    ]);
  }
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  for (const r of rows)
    console.log(
      r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  "),
    );
  const k = summary.kernflow;
  const sf = summary.softflowd;
  console.log(
    `\nkernflow vs softflowd: throughput ${ratio(k.gbits, sf.gbits)}, total CPU per GB ${ratio(k.totalCpuSPerGb, sf.totalCpuSPerGb)}, ` +
      `capturer CPU per GB ${ratio(k.captureCpuSPerGb, sf.captureCpuSPerGb)}`,
  );
  console.log(
    `kernflow counted ${fmt(k.capturedShare * 100, 2)} % of iperf3's payload bytes as L3 bytes (headers included, so >100 %)`,
  );
  console.log(
    "kernel CPU is system-wide (/proc/stat system+irq+softirq on all CPUs) and includes any other load on the host;\n" +
      "iperf3 CPU is iperf3's own getrusage (its kernel time included); capturer CPU is /proc/<pid>/stat.",
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seconds: { type: "string" }, rounds: { type: "string" }, json: { type: "string" } },
    strict: true,
  });
  const parsed = flagsSchema.safeParse({
    seconds: values.seconds ?? "8",
    rounds: values.rounds ?? "3",
    json: values.json,
  });
  if (!parsed.success) {
    console.error(`agent-overhead: ${z.prettifyError(parsed.error)}`);
    process.exit(2);
  }
  const { seconds, rounds, json } = parsed.data;
  if (process.getuid?.() !== 0)
    throw new Error("agent-overhead needs root: it creates network namespaces and loads BPF");

  const dir = mkdtempSync(join(tmpdir(), "kf-bench-"));
  const statsSysctl = "/proc/sys/kernel/bpf_stats_enabled";
  const statsBefore = readFileSync(statsSysctl, "utf8").trim();
  const lab = await createVethLab();
  const samples: Sample[] = [];
  try {
    // Per-program run time is only accounted while this sysctl is on; it is restored afterwards.
    writeFileSync(statsSysctl, "1");
    for (let round = 1; round <= rounds; round++) {
      for (const scenario of ["baseline", "kernflow", "softflowd"] as const) {
        const sample = await measure(lab, scenario, seconds, dir);
        samples.push(sample);
        console.log(
          `round ${round} ${scenario.padEnd(9)} ${sample.gbits.toFixed(2)} Gbit/s, kernel ${sample.kernelCpuS.toFixed(2)} s, ` +
            `iperf3 ${sample.iperfCpuS.toFixed(2)} s, capturer ${sample.captureCpuS.toFixed(2)} s` +
            (sample.bpfRuns > 0
              ? `, BPF ${sample.bpfRuns} runs ${(sample.bpfRunNs / 1e6).toFixed(1)} ms`
              : ""),
        );
      }
    }
  } finally {
    writeFileSync(statsSysctl, statsBefore);
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const summary = summarise(samples);
  printReport(summary, seconds, rounds);
  if (json !== undefined)
    writeFileSync(json, `${JSON.stringify({ seconds, rounds, samples, summary }, null, 2)}\n`);
}

await main();
