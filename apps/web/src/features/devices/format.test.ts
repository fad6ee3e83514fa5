import { describe, expect, it } from "vitest";
import { formatAgo, formatRate } from "./format";

describe("device figures", () => {
  it("says how long ago a device was seen in the largest sensible unit", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(formatAgo(null, now)).toBe("never");
    expect(formatAgo(new Date(now - 5_000), now)).toBe("5 s ago");
    expect(formatAgo(new Date(now - 10 * 60_000), now)).toBe("10 min ago");
    expect(formatAgo(new Date(now - 3 * 3_600_000), now)).toBe("3 h ago");
    expect(formatAgo(new Date(now - 72 * 3_600_000), now)).toBe("3 d ago");
  });

  it("shows small rates with a decimal and large ones as whole numbers", () => {
    expect(formatRate(null)).toBe("—");
    expect(formatRate(12.46)).toBe("12.5");
    expect(formatRate(12345.6)).toBe("12,346");
  });
});
