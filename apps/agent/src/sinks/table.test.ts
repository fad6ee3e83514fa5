import { emptyEndpoint } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import { sampleRecord } from "./fixtures.test-support";
import { formatBytes, formatEndpointAddress, formatRtt, formatTable, protocolName } from "./table";

describe("table cells", () => {
  it("brackets IPv6 addresses and omits ports for ICMP", () => {
    expect(formatEndpointAddress("fd00::1", 443, 6)).toBe("[fd00::1]:443");
    expect(formatEndpointAddress("10.0.0.1", 53, 17)).toBe("10.0.0.1:53");
    expect(formatEndpointAddress("10.0.0.1", 0, 1)).toBe("10.0.0.1");
  });
  it("names common protocols and falls back to the number", () => {
    expect([6, 17, 1, 58, 47].map(protocolName)).toEqual(["tcp", "udp", "icmp", "icmp6", "47"]);
  });
  it("shows small byte counts exactly and large ones in decimal units", () => {
    expect(formatBytes(1500)).toBe("1500 B");
    expect(formatBytes(12_345)).toBe("12.3 kB");
    expect(formatBytes(1_500_000_000)).toBe("1.5 GB");
    expect(formatBytes(250_000_000)).toBe("250 MB");
  });
  it("shows RTT in microseconds below a millisecond and dashes when unknown", () => {
    expect(formatRtt(250)).toBe("250µs");
    expect(formatRtt(12_345)).toBe("12.35ms");
    expect(formatRtt(null)).toBe("-");
  });
});

describe("formatTable", () => {
  it("aligns every column across the rows of a batch, heaviest flow first", () => {
    const text = formatTable([
      sampleRecord({ bytes: 100, src_addr: "10.0.0.1", dst_addr: "fd00::abcd:2" }),
      sampleRecord({
        bytes: 2_000_000,
        interface: "veth-long-name",
        direction: "ingress",
        src: emptyEndpoint(),
        dst: { ...emptyEndpoint(), pid: 7, process_name: "nginx" },
        retransmits: 12,
        rtt_us: null,
      }),
    ]);
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^TIME\s+IFACE\s+DIR\s+PROTO\s+SRC\s+DST\s+BYTES\s+PKTS\s+PROCESS\s+RTT\s+RETRANS$/,
    );
    expect(lines[1]).toContain("veth-long-name  in ");
    expect(lines[1]).toContain("- -> nginx(7)");
    expect(lines[2]).toContain("[fd00::abcd:2]:443");
    expect(lines[2]).toContain("curl(1234) -> -");
    // Every row's arrow between addresses and the right-aligned last column sit at the same offsets.
    const arrowAt = lines.slice(1).map((l) => l.indexOf(" -> "));
    expect(new Set(arrowAt).size).toBe(1);
    expect(lines[0]?.indexOf("DST")).toBe((arrowAt[0] as number) + 5);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[1]?.endsWith("12")).toBe(true);
    expect(lines[2]?.endsWith(" 0")).toBe(true);
  });
  it("prints nothing for an empty batch", () => {
    expect(formatTable([])).toBe("");
  });
});
