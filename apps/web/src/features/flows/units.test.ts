import { describe, expect, it } from "vitest";
import { formatCount, formatMetricValue, formatMilliseconds } from "./units";

describe("formatMetricValue", () => {
  it("scales bits per second with SI prefixes up to Gbit/s", () => {
    expect(formatMetricValue("bits_per_s", 0)).toBe("0 bit/s");
    expect(formatMetricValue("bits_per_s", 950)).toBe("950 bit/s");
    expect(formatMetricValue("bits_per_s", 1500)).toBe("1.50 kbit/s");
    expect(formatMetricValue("bits_per_s", 12_340_000)).toBe("12.3 Mbit/s");
    expect(formatMetricValue("bits_per_s", 9_410_000_000)).toBe("9.41 Gbit/s");
    expect(formatMetricValue("bits_per_s", 2.5e12)).toBe("2.50 Tbit/s");
  });

  it("keeps fractions of small rates instead of rounding them to zero", () => {
    expect(formatMetricValue("packets_per_s", 0.25)).toBe("0.25 pkt/s");
    expect(formatMetricValue("packets_per_s", 7)).toBe("7 pkt/s");
    expect(formatMetricValue("retransmits_per_s", 1200)).toBe("1.20 kretr/s");
  });

  it("writes latency in ms, µs below a millisecond and s from a second", () => {
    expect(formatMetricValue("app_latency_ms", 12.345)).toBe("12.3 ms");
    expect(formatMetricValue("rtt_ms", 0.42)).toBe("420 µs");
    expect(formatMetricValue("app_latency_ms", 1234.5)).toBe("1.23 s");
    expect(formatMilliseconds(3.5)).toBe("3.50 ms");
    expect(formatMilliseconds(250)).toBe("250 ms");
  });

  it("shows a dash where there is no value", () => {
    expect(formatMetricValue("rtt_ms", null)).toBe("—");
  });
});

describe("formatCount", () => {
  it("writes exact counts with thousands separators", () => {
    expect(formatCount(1_234_567)).toBe("1,234,567");
    expect(formatCount(0)).toBe("0");
  });
});
