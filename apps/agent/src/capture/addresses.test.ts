import { describe, expect, it } from "vitest";
import { formatAddress, localAddresses, parseAddress } from "./addresses";

describe("kernel address text form", () => {
  it("prints IPv4-mapped addresses as dotted quads", () => {
    expect(formatAddress(parseAddress("10.1.2.3"))).toBe("10.1.2.3");
    expect(parseAddress("10.1.2.3").toString("hex")).toBe("00000000000000000000ffff0a010203");
  });

  it("prints IPv6 in RFC 5952 form, compressing the longest zero run", () => {
    expect(formatAddress(parseAddress("fd00:0:0:1::2"))).toBe("fd00:0:0:1::2");
    expect(formatAddress(parseAddress("2001:db8:0:0:1:0:0:1"))).toBe("2001:db8::1:0:0:1");
    expect(formatAddress(parseAddress("::1"))).toBe("::1");
    expect(formatAddress(Buffer.alloc(16))).toBe("::");
    expect(formatAddress(parseAddress("fe80::a:b"))).toBe("fe80::a:b");
    expect(formatAddress(parseAddress("1:0:2:3:4:5:6:7"))).toBe("1:0:2:3:4:5:6:7");
  });

  it("rejects buffers that are not 16 bytes", () => {
    expect(() => formatAddress(Buffer.alloc(4))).toThrow(RangeError);
  });

  it("knows the loopback address as local", () => {
    expect(localAddresses().has("127.0.0.1")).toBe(true);
  });
});
