import { emptyEndpoint, type FlowRecord, flowRecordWith, writeIpv6 } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import { IpfixEncoder } from "./encoder";
import { IPV4_TEMPLATE_ID, IPV6_TEMPLATE_ID } from "./templates";

function record(overrides: Partial<FlowRecord> = {}): FlowRecord {
  return flowRecordWith({
    ts_start: "2026-11-26T01:00:00.123Z",
    ts_end: "2026-11-26T01:00:09.456Z",
    device: "host-a",
    src_port: 40000,
    dst_port: 443,
    bytes: 1000,
    packets: 10,
    tcp_flags: 0x1b,
    ...overrides,
  });
}

/** The sets of one message: [set id, body length] pairs, walking the set headers as a collector does. */
function sets(message: Buffer): { id: number; length: number }[] {
  const result: { id: number; length: number }[] = [];
  let at = 16;
  while (at < message.length) {
    const id = message.readUInt16BE(at);
    const length = message.readUInt16BE(at + 2);
    expect(length).toBeGreaterThan(4);
    result.push({ id, length });
    at += length;
  }
  expect(at).toBe(message.length);
  return result;
}

describe("IpfixEncoder", () => {
  it("numbers each message with the count of data records sent before it", () => {
    const encoder = new IpfixEncoder({ maxMessageBytes: 1400 });
    const batch = Array.from({ length: 50 }, (_, i) => record({ src_port: i + 1 }));
    const messages = [...encoder.encode(batch, { withTemplates: true }), ...encoder.encode(batch)];
    expect(messages.length).toBeGreaterThan(2);
    let expected = 0;
    for (const message of messages) {
      expect(message.readUInt16BE(0)).toBe(10);
      expect(message.readUInt16BE(2)).toBe(message.length);
      expect(message.length).toBeLessThanOrEqual(1400);
      expect(message.readUInt32BE(8)).toBe(expected);
      sets(message);
      expected += dataRecords(message);
    }
    expect(expected).toBe(100);
    expect(encoder.sequenceNumber).toBe(100);
  });

  it("keeps every message within maxMessageBytes, even with long command lines", () => {
    const encoder = new IpfixEncoder({ maxMessageBytes: 1000 });
    const long = { ...emptyEndpoint(), process_cmdline: "x".repeat(5000), process_name: "é".repeat(400) };
    const messages = encoder.encode(
      Array.from({ length: 20 }, () => record({ src: long, dst: long })),
      { withTemplates: true },
    );
    for (const message of messages) expect(message.length).toBeLessThanOrEqual(1000);
    expect(encoder.sequenceNumber).toBe(20);
  });

  it("puts IPv4 and IPv6 records in data sets of their own templates", () => {
    const encoder = new IpfixEncoder();
    const [message] = encoder.encode([
      record(),
      record({ src_addr: "fd00::1", dst_addr: "fd00::2" }),
      record({ src_addr: "10.0.0.9" }),
    ]);
    expect(sets(message as Buffer).map((s) => s.id)).toEqual([
      IPV4_TEMPLATE_ID,
      IPV6_TEMPLATE_ID,
      IPV4_TEMPLATE_ID,
    ]);
  });

  it("never rewrites a message it has handed out, across many batches and fresh buffers", () => {
    const encoder = new IpfixEncoder({ maxMessageBytes: 1400 });
    const cmdline = (i: number) => ({ ...emptyEndpoint(), process_cmdline: `/usr/bin/app --id ${i}` });
    const handedOut: { message: Buffer; copy: Buffer }[] = [];
    for (let batch = 0; batch < 40; batch++) {
      const records = Array.from({ length: 100 }, (_, i) =>
        record({
          src_port: i + 1,
          src: cmdline(batch * 100 + i),
          ...(i % 7 === 0 ? { src_addr: "fd00::7" } : {}),
        }),
      );
      for (const message of encoder.encode(records, { withTemplates: batch % 5 === 0 })) {
        handedOut.push({ message, copy: Buffer.from(message) });
      }
    }
    let expected = 0;
    for (const { message, copy } of handedOut) {
      expect(message.equals(copy)).toBe(true);
      expect(message.readUInt32BE(8)).toBe(expected);
      expect(message.length).toBeLessThanOrEqual(1400);
      expected += dataRecords(message);
    }
    expect(expected).toBe(4000);
  });

  it("cuts a record too long for any message to fill one of its own, after the records before it", () => {
    const encoder = new IpfixEncoder({ maxMessageBytes: 1000 });
    const x = "x".repeat(300);
    const long = { ...emptyEndpoint(), process_cmdline: x, process_name: x, container_id: x, node: x };
    const messages = encoder.encode([record(), record({ src: long })]);
    expect(messages).toHaveLength(2);
    expect(messages.map((m) => dataRecords(m))).toEqual([1, 1]);
    expect(messages[1]?.length).toBe(1000);
    const short = encoder.encode([
      record(),
      record({ src: { ...emptyEndpoint(), process_cmdline: "y".repeat(300) } }),
    ]);
    expect(short.map((m) => dataRecords(m))).toEqual([2]);
    expect(short[0]?.includes(Buffer.from(`${"y".repeat(254)}\x00`, "latin1"))).toBe(true);
  });

  it("refuses an enterprise number outside 32 bits", () => {
    expect(() => new IpfixEncoder({ enterpriseNumber: 2 ** 32 })).toThrow(/enterpriseNumber/);
  });
});

describe("writeIpv6", () => {
  it("expands :: and an IPv4 tail the way inet_pton does", () => {
    const out = Buffer.alloc(16);
    writeIpv6("2001:db8::ffff:1.2.3.4", out, 0);
    expect(out.toString("hex")).toBe("20010db8000000000000ffff01020304");
    writeIpv6("::1", out, 0);
    expect(out.toString("hex")).toBe("00000000000000000000000000000001");
    expect(() => writeIpv6("1::2::3", out, 0)).toThrow(/IPv6/);
    writeIpv6("1:2:3:4:5:6:7::", out, 0);
    expect(out.toString("hex")).toBe("00010002000300040005000600070000");
    writeIpv6("FE80::aB:1%eth0", out, 0);
    expect(out.toString("hex")).toBe(`fe80${"0000".repeat(5)}00ab0001`);
    writeIpv6("::", out, 0);
    expect(out.toString("hex")).toBe("0".repeat(32));
    writeIpv6("10.1.2.3", out, 0);
    expect(out.toString("hex")).toBe("00000000000000000000ffff0a010203");
    for (const bad of [
      "1:2:3:4:5:6:7:8:9",
      ":1",
      "1:",
      "1:::2",
      "12345::",
      "g::1",
      "1:2:3:4:5:6:7",
      "::1.2.3",
      "",
    ]) {
      expect(() => writeIpv6(bad, out, 0), bad).toThrow(/IPv/);
    }
  });
});

/** Counts data records by walking each record's fixed part and its variable-length strings. */
function dataRecords(message: Buffer): number {
  let count = 0;
  let at = 16;
  while (at < message.length) {
    const id = message.readUInt16BE(at);
    const end = at + message.readUInt16BE(at + 2);
    if (id >= 256) {
      let r = at + 4;
      const fixed = (id === IPV6_TEMPLATE_ID ? 32 : 8) + 52 + 29;
      while (r < end) {
        r += fixed;
        for (let i = 0; i < 23; i++) r += 1 + (message[r] as number);
        count += 1;
      }
      expect(r).toBe(end);
    }
    at = end;
  }
  return count;
}
