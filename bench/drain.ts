/**
 * How fast can the agent empty a full flow map? Loads the real kernflow object, fills its per-CPU flow
 * map with N distinct live-looking flows (every CPU slot counting), then times the three stages of a
 * drain tick exactly as the capture role runs them: batch lookup-and-delete out of the kernel, record
 * building (key decoding, per-CPU sums, socket-owner and stats lookups, timestamps), and ndjson
 * serialisation. Repeats and reports medians in records per second.
 *
 *   npm run bench:drain -w @kernflow/bench -- [--flows 100000] [--rounds 5] [--json FILE]
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  buildRecords,
  flowKeyLayout,
  flowValueLayout,
  formatNdjson,
  formatTable,
  KtimeClock,
  loadKernflow,
  localAddresses,
  parseAddress,
  possibleCpus,
  roundUp8,
  SocketTable,
} from "@kernflow/agent";
import { emptyEndpoint } from "@kernflow/protocol";
import { z } from "zod";

const flagsSchema = z.object({
  flows: z.coerce.number().int().min(1_000).max(4_000_000),
  rounds: z.coerce.number().int().min(1).max(50),
  json: z.string().min(1).optional(),
});

/** Writes one flow key the way the tc program does: IPv4 as v4-mapped IPv6, ports in host order. */
function flowKey(i: number): Buffer {
  const key = Buffer.alloc(flowKeyLayout.size);
  const f = flowKeyLayout.fields;
  // 10.(i>>16).(i>>8).(i) -> 10.200.0.1:443: distinct sources, as on a busy front end.
  parseAddress(`10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`).copy(key, f.src_addr);
  parseAddress("10.200.0.1").copy(key, f.dst_addr);
  key.writeUInt16LE(1024 + (i % 60_000), f.src_port);
  key.writeUInt16LE(443, f.dst_port);
  key.writeUInt32LE(1, f.ifindex);
  key.writeUInt8(i % 4 === 0 ? 17 : 6, f.protocol);
  key.writeUInt8(i % 2, f.direction);
  return key;
}

function flowValue(i: number, cpus: number, nowNs: bigint): Buffer {
  const slot = roundUp8(flowValueLayout.size);
  const value = Buffer.alloc(slot * cpus);
  const f = flowValueLayout.fields;
  for (let cpu = 0; cpu < cpus; cpu++) {
    const at = cpu * slot;
    value.writeBigUInt64LE(BigInt(1_500 * (1 + (i % 7))), at + f.bytes);
    value.writeBigUInt64LE(BigInt(1 + (i % 7)), at + f.packets);
    value.writeBigUInt64LE(nowNs - 9_000_000_000n, at + f.first_ns);
    value.writeBigUInt64LE(nowNs - BigInt(i % 1_000) * 1_000_000n, at + f.last_ns);
    value.writeUInt16LE(0x18, at + f.tcp_flags);
  }
  return value;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

interface Round {
  fillMs: number;
  drainMs: number;
  buildMs: number;
  ndjsonMs: number;
  tableMs: number;
  records: number;
  ndjsonBytes: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { flows: { type: "string" }, rounds: { type: "string" }, json: { type: "string" } },
    strict: true,
  });
  const parsed = flagsSchema.safeParse({
    flows: values.flows ?? "100000",
    rounds: values.rounds ?? "5",
    json: values.json,
  });
  if (!parsed.success) {
    console.error(`drain: ${z.prettifyError(parsed.error)}`);
    process.exit(2);
  }
  const { flows, rounds, json } = parsed.data;
  if (process.getuid?.() !== 0) throw new Error("drain bench needs root: it loads the kernflow BPF object");

  // Room for every flow plus hash-table slack, as an operator would size --map-entries.
  const kf = loadKernflow({ mapEntries: Math.ceil(flows * 1.25) });
  const results: Round[] = [];
  try {
    const cpus = possibleCpus();
    const clock = new KtimeClock();
    const sockets = new SocketTable(kf.maps.sockOwners, kf.maps.sockStats);
    const locals = localAddresses();
    const keys = Array.from({ length: flows }, (_, i) => flowKey(i));
    for (let round = 1; round <= rounds; round++) {
      const nowNs = clock.nowKtime();
      let t = performance.now();
      for (let i = 0; i < flows; i++) kf.maps.flows.update(keys[i] as Buffer, flowValue(i, cpus, nowNs));
      const fillMs = performance.now() - t;

      t = performance.now();
      clock.resync();
      sockets.refresh();
      const entries = kf.maps.flows.drain();
      const drainMs = performance.now() - t;

      t = performance.now();
      const records = await buildRecords(entries, {
        deviceName: "bench",
        cpus,
        clock,
        sockets,
        interfaceName: () => "eth0",
        localAddresses: locals,
        endpointOf: async () => emptyEndpoint(),
      });
      const buildMs = performance.now() - t;

      t = performance.now();
      const ndjson = formatNdjson(records);
      const ndjsonMs = performance.now() - t;

      t = performance.now();
      formatTable(records);
      const tableMs = performance.now() - t;

      if (records.length !== flows) throw new Error(`drained ${records.length} records, expected ${flows}`);
      if (kf.maps.flows.keys().length !== 0) throw new Error("flow map not empty after drain");
      results.push({
        fillMs,
        drainMs,
        buildMs,
        ndjsonMs,
        tableMs,
        records: records.length,
        ndjsonBytes: ndjson.length,
      });
      console.log(
        `round ${round}: fill ${fillMs.toFixed(0)} ms, drain ${drainMs.toFixed(0)} ms, build ${buildMs.toFixed(0)} ms, ` +
          `ndjson ${ndjsonMs.toFixed(0)} ms (${(ndjson.length / 1e6).toFixed(1)} MB), table ${tableMs.toFixed(0)} ms`,
      );
    }
  } finally {
    kf.close();
  }

  const rate = (ms: number) => flows / (ms / 1000);
  const m = (pick: (r: Round) => number) => median(results.map(pick));
  const drainMs = m((r) => r.drainMs);
  const buildMs = m((r) => r.buildMs);
  const ndjsonMs = m((r) => r.ndjsonMs);
  const totalMs = m((r) => r.drainMs + r.buildMs + r.ndjsonMs);
  console.log(
    `\ndrain bench: ${flows} live flows in the per-CPU flow map (${possibleCpus()} CPUs), ${rounds} round(s), medians`,
  );
  const rows: [string, number][] = [
    ["kernel drain (batch lookup+delete)", drainMs],
    ["build records (decode, sums, socket lookups)", buildMs],
    ["serialise ndjson", ndjsonMs],
    ["drain + build + ndjson", totalMs],
    ["format table (for comparison)", m((r) => r.tableMs)],
  ];
  for (const [label, ms] of rows) {
    console.log(
      `${label.padEnd(46)} ${ms.toFixed(0).padStart(6)} ms  ${Math.round(rate(ms)).toLocaleString("en-US").padStart(12)} records/s`,
    );
  }
  console.log(
    `at a 10 s interval, ${flows} flows per tick keep one core ${((totalMs / 10_000) * 100).toFixed(1)} % busy; ` +
      `ndjson is ${(m((r) => r.ndjsonBytes) / flows).toFixed(0)} bytes per record`,
  );
  if (json !== undefined) writeFileSync(json, `${JSON.stringify({ flows, rounds, results }, null, 2)}\n`);
}

await main();
