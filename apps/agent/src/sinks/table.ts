import type { Writable } from "node:stream";
import type { Endpoint, FlowRecord } from "@kernflow/protocol";
import { type RecordSink, writeText } from "./sink";

const protocolNames: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6", 132: "sctp" };

export function protocolName(protocol: number): string {
  return protocolNames[protocol] ?? String(protocol);
}

/** `addr:port`, with IPv6 bracketed as in URLs; ports are omitted for protocols that have none. */
export function formatEndpointAddress(addr: string, port: number, protocol: number): string {
  const host = addr.includes(":") ? `[${addr}]` : addr;
  return protocol === 6 || protocol === 17 || protocol === 132 ? `${host}:${port}` : host;
}

/** Decimal units like `iperf3` and link speeds, keeping exact values below 10 kB readable. */
export function formatBytes(bytes: number): string {
  if (bytes < 10_000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB", "PB"];
  let value = bytes;
  let unit = "B";
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value.toFixed(value < 100 ? 1 : 0)} ${unit}`;
}

export function formatRtt(rttUs: number | null): string {
  if (rttUs === null) return "-";
  return rttUs < 1000 ? `${rttUs}µs` : `${(rttUs / 1000).toFixed(rttUs < 100_000 ? 2 : 0)}ms`;
}

function processLabel(endpoint: Endpoint): string {
  if (endpoint.process_name === null) return endpoint.pid === null ? "-" : `pid ${endpoint.pid}`;
  return endpoint.pid === null ? endpoint.process_name : `${endpoint.process_name}(${endpoint.pid})`;
}

const columns = [
  "TIME",
  "IFACE",
  "DIR",
  "PROTO",
  "SRC",
  "",
  "DST",
  "BYTES",
  "PKTS",
  "PROCESS",
  "RTT",
  "RETRANS",
];
/** Numbers align right so magnitudes compare at a glance. */
const rightAligned = new Set(["BYTES", "PKTS", "RTT", "RETRANS"]);

export function tableCells(record: FlowRecord): string[] {
  return [
    record.ts_end.slice(11, 19),
    record.interface,
    record.direction === "ingress" ? "in" : "out",
    protocolName(record.protocol),
    formatEndpointAddress(record.src_addr, record.src_port, record.protocol),
    "->",
    formatEndpointAddress(record.dst_addr, record.dst_port, record.protocol),
    formatBytes(record.bytes),
    String(record.packets),
    `${processLabel(record.src)} -> ${processLabel(record.dst)}`,
    formatRtt(record.rtt_us),
    String(record.retransmits),
  ];
}

/**
 * One aligned block per drained batch: widths are computed over the batch, since a stream cannot go back
 * and re-align rows it already printed. Rows are ordered by bytes so the heavy flows lead.
 */
export function formatTable(records: readonly FlowRecord[]): string {
  if (records.length === 0) return "";
  const sorted = [...records].sort((a, b) => b.bytes - a.bytes);
  const rows = [columns, ...sorted.map(tableCells)];
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => (row[i] as string).length)));
  const lines = rows.map((row) =>
    row
      .map((cell, i) => {
        const width = widths[i] as number;
        const isLast = i === row.length - 1;
        if (rightAligned.has(columns[i] as string)) return cell.padStart(width);
        return isLast ? cell : cell.padEnd(width);
      })
      .join("  ")
      .trimEnd(),
  );
  return `${lines.join("\n")}\n`;
}

export class TableSink implements RecordSink {
  private batches = 0;
  constructor(private readonly out: Writable) {}
  write(records: readonly FlowRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const separator = this.batches++ === 0 ? "" : "\n";
    return writeText(this.out, separator + formatTable(records));
  }
  async close(): Promise<void> {}
}
