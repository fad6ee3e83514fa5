import { describe, expect, it } from "vitest";
import { parseRecordTime } from "./record-time";

describe("parseRecordTime", () => {
  it("agrees with Date.parse on record timestamps, truncating beyond milliseconds", () => {
    for (const text of [
      "2026-11-26T01:00:00Z",
      "2026-11-26T01:00:00.5Z",
      "2026-11-26T01:00:00.12Z",
      "1999-12-31T23:59:59.999Z",
      "2026-02-28T12:34:56.789Z",
    ]) {
      expect(parseRecordTime(text), text).toBe(Date.parse(text));
    }
    expect(parseRecordTime("2026-11-26T01:00:00.123456Z")).toBe(Date.parse("2026-11-26T01:00:00.123Z"));
    expect(parseRecordTime("2026-11-26T01:00:00+02:00")).toBe(Date.parse("2026-11-26T01:00:00+02:00"));
    // Every day of 1968–2104 (leap years and century rules), at a time of day that moves with it.
    for (let ms = Date.UTC(1968, 0, 1); ms < Date.UTC(2104, 0, 1); ms += 86_400_000 + 3_723_001) {
      const text = new Date(ms).toISOString();
      expect(parseRecordTime(text), text).toBe(ms);
    }
    for (const text of [
      "2026-02-29T00:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-01-01T23:60:00Z",
      "2026-01-0xT00:00:00Z",
    ]) {
      expect(parseRecordTime(text), text).toBe(Date.parse(text));
    }
  });
});
