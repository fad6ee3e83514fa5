import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  columnMicros,
  isCanonicalRecordTime,
  parseRecordTime,
  parseRecordTimeMicros,
  readColumnMicros,
} from "./record-time";

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

describe("parseRecordTimeMicros", () => {
  it("keeps microseconds, truncates beyond them, and agrees with parseRecordTime on milliseconds", () => {
    expect(parseRecordTimeMicros("2026-11-26T01:00:00.123456Z")).toBe(
      Date.parse("2026-11-26T01:00:00Z") * 1000 + 123_456,
    );
    expect(parseRecordTimeMicros("2026-11-26T01:00:00.1234567Z")).toBe(
      Date.parse("2026-11-26T01:00:00Z") * 1000 + 123_456,
    );
    expect(parseRecordTimeMicros("2026-11-26T01:00:00.5Z")).toBe(
      Date.parse("2026-11-26T01:00:00Z") * 1000 + 500_000,
    );
    expect(parseRecordTimeMicros("2026-11-26T01:00:00+02:00")).toBe(
      Date.parse("2026-11-26T01:00:00+02:00") * 1000,
    );
    expect(parseRecordTimeMicros("not a time")).toBeNaN();
  });
});

describe("isCanonicalRecordTime", () => {
  // The ingest's fast check trusts it in place of the record schema, so it must never accept more.
  const schema = z.iso.datetime({ offset: false });
  it("accepts only what the record schema accepts", () => {
    for (const text of [
      "2026-11-26T01:00:00Z",
      "2026-11-26T01:00:00.123456789Z",
      "2024-02-29T00:00:00Z",
      "2023-02-29T00:00:00Z",
      "2026-11-26T24:00:00Z",
      "2026-11-26T01:00:00.Z",
      "2026-11-26T01:00Z",
      "2026-11-26T01:00:00+02:00",
      "2026-11-26 01:00:00Z",
      "２026-11-26T01:00:00Z",
    ]) {
      if (isCanonicalRecordTime(text)) expect(schema.safeParse(text).success, text).toBe(true);
    }
    expect(isCanonicalRecordTime("2026-11-26T01:00:00.5Z")).toBe(true);
  });

  it("reads a column of times once: µs of the canonical ones, NaN for the rest, remembered per array", () => {
    const column = ["2026-11-26T01:00:00.123456Z", "2026-11-26T01:00Z", 7, "2026-11-26T01:00:00Z"];
    const micros = columnMicros(column);
    expect([...micros]).toEqual([
      parseRecordTimeMicros("2026-11-26T01:00:00.123456Z"),
      Number.NaN,
      Number.NaN,
      Date.parse("2026-11-26T01:00:00Z") * 1000,
    ]);
    expect(columnMicros(column)).toBe(micros);
    // Another array of the same texts is read anew; a new reading (the batch check's) replaces the old.
    expect(columnMicros([...column])).not.toBe(micros);
    column[1] = "2026-11-26T01:00:01Z";
    const again = readColumnMicros(column);
    expect(again[1]).toBe(Date.parse("2026-11-26T01:00:01Z") * 1000);
    expect(columnMicros(column)).toBe(again);
  });
});
