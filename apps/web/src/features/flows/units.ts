import type { FlowMetric } from "@kernflow/protocol";

// Rates use SI prefixes (1 kbit/s = 1000 bit/s), as interface speeds and the reference product do.
const SI_PREFIXES = ["", "k", "M", "G", "T", "P"] as const;

function withPrefix(value: number, unit: string): string {
  let scaled = value;
  let index = 0;
  while (Math.abs(scaled) >= 1000 && index < SI_PREFIXES.length - 1) {
    scaled /= 1000;
    index += 1;
  }
  // Three significant digits read well in a chart axis and a table cell alike.
  // Whole numbers of the base unit (7 pkt/s) keep no decimals.
  const magnitude = Math.abs(scaled);
  const digits = index === 0 && Number.isInteger(scaled) ? 0 : magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2;
  return `${scaled.toFixed(digits)} ${SI_PREFIXES[index]}${unit}`;
}

/** 1234.5 ms → "1.23 s"; 0.42 ms → "420 µs"; 12.345 ms → "12.3 ms". */
export function formatMilliseconds(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s`;
  if (ms > 0 && ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** A value of a metric in its unit, scaled for reading. */
export function formatMetricValue(metric: FlowMetric, value: number | null): string {
  if (value === null) return "—";
  switch (metric) {
    case "bits_per_s":
      return withPrefix(value, "bit/s");
    case "packets_per_s":
      return withPrefix(value, "pkt/s");
    case "retransmits_per_s":
      return withPrefix(value, "retr/s");
    case "app_latency_ms":
    case "rtt_ms":
      return formatMilliseconds(value);
  }
}

export const metricLabels: Record<FlowMetric, string> = {
  bits_per_s: "Bits/s",
  packets_per_s: "Packets/s",
  retransmits_per_s: "Retransmits/s",
  app_latency_ms: "Application latency",
  rtt_ms: "TCP round-trip time",
};

/** Exact counts with separators: totals in the table must be comparable with interface counters. */
export function formatCount(value: number): string {
  return value.toLocaleString("en-US", { maximumFractionDigits: 0 });
}
