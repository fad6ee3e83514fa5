import { Writable } from "node:stream";
import { flowRecordSchema } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import { sampleRecord } from "./fixtures.test-support";
import { formatNdjson, NdjsonSink } from "./ndjson";

describe("formatNdjson", () => {
  it("writes one schema-valid JSON record per line", () => {
    const records = [sampleRecord(), sampleRecord({ protocol: 17, dst_addr: "fd00::2", rtt_us: null })];
    const text = formatNdjson(records);
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => flowRecordSchema.parse(JSON.parse(l)))).toEqual(records);
  });
  it("writes nothing for an empty batch", () => {
    expect(formatNdjson([])).toBe("");
  });
});

describe("NdjsonSink", () => {
  it("waits for a slow consumer to drain before resolving a write", async () => {
    const chunks: string[] = [];
    let release: () => void = () => {};
    const slow = new Writable({
      highWaterMark: 16,
      write(chunk, _enc, done) {
        chunks.push(String(chunk));
        release = done;
      },
    });
    let resolved = false;
    const pending = new NdjsonSink(slow).write([sampleRecord()]).then(() => {
      resolved = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(false);
    release();
    await pending;
    expect(resolved).toBe(true);
    expect(chunks.join("")).toContain('"src_port":40000');
  });
});
