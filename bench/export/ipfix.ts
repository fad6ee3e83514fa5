// IPFIX export throughput: encode + send kernflow records over UDP loopback to a real collector (nfcapd),
// from one core, as fast as the exporter goes; then ask the collector what it received and how many
// sequence failures it counted (RFC 7011 sequence numbers: a gap is a lost message).
//
//   npm run bench:export -w @kernflow/bench -- [--records 1000000] [--batch 1000] [--mtu 1400] [--json FILE]
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { IpfixEncoder, IpfixExporter } from "@kernflow/ipfix";
import { z } from "zod";
import { benchRecords } from "../flows/records";

const options = z
  .object({
    records: z.coerce.number().int().min(1000).default(1_000_000),
    batch: z.coerce.number().int().min(1).max(100_000).default(1000),
    mtu: z.coerce.number().int().min(1000).max(65000).default(1400),
    json: z.string().optional(),
  })
  .parse(
    parseArgs({
      options: {
        records: { type: "string" },
        batch: { type: "string" },
        mtu: { type: "string" },
        json: { type: "string" },
      },
    }).values,
  );

function startNfcapd(dir: string, port: number): Promise<ChildProcess> {
  // -B: a large socket buffer, as any collector facing a fast exporter is configured.
  const child = spawn(
    "nfcapd",
    ["-b", "127.0.0.1", "-p", String(port), "-w", dir, "-t", "3600", "-B", "33554432"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return new Promise((resolve, reject) => {
    let log = "";
    const onData = (d: Buffer) => {
      log += String(d);
      if (log.includes("Startup")) resolve(child);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`nfcapd exited ${code}: ${log}`)));
  });
}

async function main(): Promise<void> {
  // The kernel caps SO_RCVBUF/SO_SNDBUF at rmem_max/wmem_max; raise them for the run (restored after) so
  // nfcapd's -B and the exporter's 4 MiB send buffer apply, as an operator tuning a busy exporter would.
  const rmemPath = "/proc/sys/net/core/rmem_max";
  const wmemPath = "/proc/sys/net/core/wmem_max";
  const rmemBefore = execFileSync("cat", [rmemPath], { encoding: "utf8" }).trim();
  const wmemBefore = execFileSync("cat", [wmemPath], { encoding: "utf8" }).trim();
  writeFileSync(rmemPath, "33554432");
  writeFileSync(wmemPath, String(4 << 20));
  const dir = mkdtempSync(join(tmpdir(), "kf-bench-ipfix-"));
  const port = 20000 + Math.floor(Math.random() * 30000);
  const nfcapd = await startNfcapd(dir, port);
  try {
    // Distinct records, built before timing: the figure is the exporter's, not the generator's.
    const pool = benchRecords(
      Math.min(options.records, 200_000),
      "bench-node",
      Date.now() - 60_000,
      50_000,
      7,
    );
    // The 10th record of every 10 is IPv6, so both templates are exercised.
    for (let i = 9; i < pool.length; i += 10) {
      const r = pool[i];
      if (r) {
        r.src_addr = `fd00:${(i % 65535).toString(16)}::1`;
        r.dst_addr = "fd00:9::2";
      }
    }
    // Encoding alone (no socket), for the split between encoder and kernel send path.
    const encoder = new IpfixEncoder({ maxMessageBytes: options.mtu });
    const encodeCpuBefore = process.cpuUsage();
    for (let i = 0; i < pool.length; i += options.batch) encoder.encode(pool.slice(i, i + options.batch));
    const encodeCpu = process.cpuUsage(encodeCpuBefore);
    const encodePerCpuSecond = Math.round(pool.length / ((encodeCpu.user + encodeCpu.system) / 1e6));

    const exporter = new IpfixExporter({
      transport: "udp",
      host: "127.0.0.1",
      port,
      maxMessageBytes: options.mtu,
      log: (m) => console.error(m),
    });
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    let sent = 0;
    let dropped = 0;
    while (sent + dropped < options.records) {
      const offset = (sent + dropped) % pool.length;
      const size = Math.min(options.batch, options.records - sent - dropped, pool.length - offset);
      const result = await exporter.send(pool.slice(offset, offset + size));
      sent += result.sent;
      dropped += result.dropped;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    const messages = exporter.stats.messagesSent;
    await exporter.close();
    // Let nfcapd drain its socket buffer, then stop it so it writes its file.
    await new Promise((r) => setTimeout(r, 2_000));
    const exited = new Promise((r) => nfcapd.once("exit", r));
    nfcapd.kill("SIGTERM");
    await exited;

    let received = 0;
    let sequenceFailures = 0;
    for (const file of readdirSync(dir).filter((f) => f.startsWith("nfcapd."))) {
      const summary = execFileSync("nfdump", ["-r", join(dir, file), "-I"], { encoding: "utf8" });
      received += Number(/^Flows: (\d+)/m.exec(summary)?.[1] ?? 0);
      sequenceFailures += Number(/Sequence failures: (\d+)/.exec(summary)?.[1] ?? 0);
    }
    const result = {
      records: options.records,
      sent,
      dropped,
      messages,
      seconds: Number(seconds.toFixed(3)),
      recordsPerSecond: Math.round(sent / seconds),
      cpuSecondsPerSecond: Number(((cpu.user + cpu.system) / 1e6 / seconds).toFixed(2)),
      // What one core does when it has the core to itself: records per CPU-second of this process (user +
      // system, the kernel's loopback delivery included). On a shared machine, wall-clock rate understates it.
      recordsPerCpuSecond: Math.round(sent / ((cpu.user + cpu.system) / 1e6)),
      // The kernel's part (system time: sendmsg and the loopback delivery into nfcapd's socket) vs. JS.
      systemCpuShare: Number((cpu.system / (cpu.user + cpu.system)).toFixed(2)),
      encodeOnlyRecordsPerCpuSecond: encodePerCpuSecond,
      collectorReceived: received,
      collectorSequenceFailures: sequenceFailures,
      mtu: options.mtu,
      batch: options.batch,
    };
    console.log(JSON.stringify(result, null, 2));
    if (options.json) writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    if (nfcapd.exitCode === null) nfcapd.kill("SIGKILL");
    writeFileSync(rmemPath, rmemBefore);
    writeFileSync(wmemPath, wmemBefore);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
