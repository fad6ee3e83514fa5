/**
 * What does capturing cost? iperf3 over a veth pair between two private namespaces — bulk TCP (few, large
 * GSO packets) and small-datagram UDP (many packets) — measured three ways in interleaved rounds: no
 * capture, kernflow capturing (the real CLI, spawned), and softflowd (libpcap) capturing the same
 * interface. Reports throughput, CPU per GB (TCP) or per million packets (UDP), the capturer's own CPU
 * and, for kernflow, the in-kernel run time of its BPF programs; ratios are against the baseline.
 *
 *   npm run bench:agent -w @kernflow/bench -- [--seconds 8] [--rounds 3] [--traffic tcp,udp] [--json FILE]
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
import { printReport, summarise } from "./overhead-report";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const agentBin = join(repoRoot, "apps/agent/bin/kernflow-agent.js");

const flagsSchema = z.object({
  seconds: z.coerce.number().int().min(2).max(120),
  rounds: z.coerce.number().int().min(1).max(20),
  json: z.string().min(1).optional(),
  traffic: z
    .string()
    .transform((v) => v.split(",").map((t) => t.trim()))
    .pipe(z.array(z.enum(["tcp", "udp"], { error: "--traffic takes tcp, udp or tcp,udp" })).min(1)),
});

export type Scenario = "baseline" | "kernflow" | "softflowd";
export type Traffic = "tcp" | "udp";
/** UDP payload size: small datagrams make the per-packet cost of capture visible. */
const udpPayload = 128;

export interface Sample {
  scenario: Scenario;
  traffic: Traffic;
  /** Packets the client sent (UDP; 0 for TCP, where iperf3 does not count segments). */
  packetsSent: number;
  packetsReceived: number;
  seconds: number;
  /** Payload bytes the client sent. */
  sentBytes: number;
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
    sum_sent: z.object({ bytes: z.number() }),
    sum_received: z.object({
      bytes: z.number(),
      bits_per_second: z.number(),
      seconds: z.number(),
      packets: z.number().optional(),
      lost_packets: z.number().optional(),
    }),
    cpu_utilization_percent: z.object({ host_total: z.number(), remote_total: z.number() }),
  }),
});

const protocolOf: Record<Traffic, number> = { tcp: 6, udp: 17 };

interface Capture {
  pid: number;
  stop(): Promise<{ capturedBytes: number | null }>;
}

async function startKernflow(lab: VethLab, traffic: Traffic): Promise<Capture> {
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
    if (record.protocol === protocolOf[traffic] && record.dst_port === 5201 && record.direction === "egress")
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

async function runIperf(
  lab: VethLab,
  seconds: number,
  traffic: Traffic,
): Promise<z.infer<typeof iperfSchema>> {
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
    ...(traffic === "udp" ? ["-u", "-b", "0", "-l", String(udpPayload)] : []),
    "-J",
  ]);
  await exited(server);
  return iperfSchema.parse(JSON.parse(out));
}

async function measure(
  lab: VethLab,
  scenario: Scenario,
  traffic: Traffic,
  seconds: number,
  dir: string,
): Promise<Sample> {
  let capture: Capture | null = null;
  if (scenario === "kernflow") capture = await startKernflow(lab, traffic);
  if (scenario === "softflowd") capture = await startSoftflowd(lab, dir);
  try {
    const cpuBefore = systemCpu();
    const captureBefore = capture === null ? null : processCpu(capture.pid);
    const bpfBefore = capture === null ? null : bpfProgramStats(capture.pid);
    const iperf = await runIperf(lab, seconds, traffic);
    const cpu = diffSystemCpu(cpuBefore, systemCpu());
    const captureAfter = capture === null ? null : processCpu(capture.pid);
    const bpfAfter = capture === null ? null : bpfProgramStats(capture.pid);
    const stopped = capture === null ? { capturedBytes: null } : await capture.stop();
    capture = null;
    const r = iperf.end.sum_received;
    const pct = iperf.end.cpu_utilization_percent;
    return {
      scenario,
      traffic,
      packetsSent: r.packets ?? 0,
      packetsReceived: (r.packets ?? 0) - (r.lost_packets ?? 0),
      seconds: r.seconds,
      sentBytes: iperf.end.sum_sent.bytes,
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
    // Only reached when measuring failed; the capture's own stop error would hide the first one.
    await capture?.stop().catch((error) => console.error(`while stopping the capture: ${String(error)}`));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string" },
      rounds: { type: "string" },
      json: { type: "string" },
      traffic: { type: "string" },
    },
    strict: true,
  });
  const parsed = flagsSchema.safeParse({
    seconds: values.seconds ?? "8",
    rounds: values.rounds ?? "3",
    json: values.json,
    traffic: values.traffic ?? "tcp,udp",
  });
  if (!parsed.success) {
    console.error(`agent-overhead: ${z.prettifyError(parsed.error)}`);
    process.exit(2);
  }
  const { seconds, rounds, json, traffic: traffics } = parsed.data;
  const scenarios: Scenario[] = ["baseline", "kernflow", "softflowd"];
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
      for (const [traffic, scenario] of traffics.flatMap((t) => scenarios.map((s) => [t, s] as const))) {
        const sample = await measure(lab, scenario, traffic, seconds, dir);
        samples.push(sample);
        console.log(
          `round ${round} ${traffic} ${scenario.padEnd(9)} ${sample.gbits.toFixed(2)} Gbit/s, kernel ${sample.kernelCpuS.toFixed(2)} s, ` +
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
  const summaries = traffics.map((traffic) => summarise(samples, traffic));
  for (const summary of summaries) printReport(summary, seconds, rounds);
  if (json !== undefined) {
    writeFileSync(json, `${JSON.stringify({ seconds, rounds, samples, summaries }, null, 2)}\n`);
  }
}

await main();
