import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  type FlowRecord,
  flowBatchSchema,
  packedFlowBatchSchema,
  packedRecordCount,
  packFlowBatch,
} from "@kernflow/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { sampleRecord } from "../sinks/fixtures.test-support";
import { rowLayoutBatchId, rowLayoutRecords, writeRowLayoutFile } from "./row-layout.test-support";
import { Spool } from "./spool";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kf-spool-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const ids = [
  "00000000-0000-4000-8000-000000000001",
  "00000000-0000-4000-8000-000000000002",
  "00000000-0000-4000-8000-000000000003",
  "00000000-0000-4000-8000-000000000004",
];
const records = (n: number): FlowRecord[] =>
  Array.from({ length: n }, (_, i) => ({ ...sampleRecord(), src_port: i + 1 }));

describe("Spool", () => {
  it("hands batches back oldest first as the exact gzip JSON FlowBatch that is posted, with its batch id", () => {
    const spool = new Spool(tempDir(), 1 << 20, () => {});
    spool.add({ batch_id: ids[0] as string, records: records(2) });
    spool.add({ batch_id: ids[1] as string, records: records(3) });
    expect(spool.size).toBe(2);
    expect(spool.records).toBe(5);
    const oldest = spool.oldest();
    expect(oldest?.batchId).toBe(ids[0]);
    const batch = flowBatchSchema.parse(JSON.parse(gunzipSync(spool.body(oldest as never)).toString()));
    expect(batch.batch_id).toBe(ids[0]);
    expect(batch.records).toHaveLength(2);
    spool.remove(oldest as never);
    expect(spool.oldest()?.batchId).toBe(ids[1]);
    expect(spool.records).toBe(3);
  });

  it("keeps the form a batch was spooled in, and converts it when the destination takes the other", async () => {
    const dir = tempDir();
    const spool = new Spool(dir, 1 << 20, () => {});
    const packed = spool.add(packFlowBatch(ids[0] as string, records(3)));
    const whole = spool.add({ batch_id: ids[1] as string, records: records(2) });
    expect([packed.layout, whole.layout]).toEqual(["columns", "records"]);
    expect(readdirSync(dir).sort()).toEqual([
      `0000000000000001-3-${ids[0]}.columns.json.gz`,
      `0000000000000002-2-${ids[1]}.json.gz`,
    ]);
    // A restart reads the form from the file name.
    const again = new Spool(dir, 1 << 20, () => {});
    expect(again.oldest()).toMatchObject({ batchId: ids[0], records: 3, layout: "columns" });
    const read = async (b: typeof packed, form: "packed" | "records") =>
      JSON.parse(gunzipSync(await spool.bodyAs(b, form)).toString());
    expect(await spool.bodyAs(packed, "packed")).toEqual(spool.body(packed));
    expect(packedRecordCount(packedFlowBatchSchema.parse(await read(packed, "packed")))).toBe(3);
    expect(flowBatchSchema.parse(await read(packed, "records"))).toEqual({
      batch_id: ids[0],
      records: records(3),
    });
    expect(packedFlowBatchSchema.parse(await read(whole, "packed"))).toEqual(
      packFlowBatch(ids[1] as string, records(2)),
    );
  });

  it("reads a file of the previous version's row layout (*.packed.json.gz) in either form, same id and records", async () => {
    const dir = tempDir();
    writeRowLayoutFile(dir, 7);
    const spool = new Spool(dir, 1 << 20, () => {});
    const old = spool.oldest();
    expect(old).toMatchObject({ batchId: rowLayoutBatchId, seq: 7, records: 2, layout: "rows" });
    const read = async (form: "packed" | "records") =>
      JSON.parse(gunzipSync(await spool.bodyAs(old as never, form)).toString());
    expect(flowBatchSchema.parse(await read("records"))).toEqual({
      batch_id: rowLayoutBatchId,
      records: rowLayoutRecords,
    });
    expect(packedFlowBatchSchema.parse(await read("packed"))).toEqual(
      packFlowBatch(rowLayoutBatchId, rowLayoutRecords),
    );
    // New batches go after it, in the column layout.
    expect(spool.add(packFlowBatch(ids[0] as string, records(1))).seq).toBe(8);
  });

  it("refuses to guess at a .packed file that is not in the row layout (the shipper then counts it lost)", async () => {
    const dir = tempDir();
    const name = `0000000000000001-1-${ids[0]}.packed.json.gz`;
    writeFileSync(join(dir, name), gzipSync(JSON.stringify(packFlowBatch(ids[0] as string, records(1)))));
    const spool = new Spool(dir, 1 << 20, () => {});
    await expect(spool.bodyAs(spool.oldest() as never, "packed")).rejects.toThrow(
      /not a batch in the packed row layout/,
    );
  });

  it("survives a restart: a new Spool over the same directory replays what was left, in order", () => {
    const dir = tempDir();
    const first = new Spool(dir, 1 << 20, () => {});
    for (const id of ids.slice(0, 3)) first.add({ batch_id: id, records: records(1) });
    first.remove(first.oldest() as never);
    // A write cut short by a crash leaves a temp file that was never a batch.
    writeFileSync(join(dir, "0000000000000009-1-x.json.gz.123.tmp"), "partial");
    const second = new Spool(dir, 1 << 20, () => {});
    expect(second.size).toBe(2);
    expect(second.oldest()?.batchId).toBe(ids[1]);
    second.add({ batch_id: ids[3] as string, records: records(4) });
    const order: string[] = [];
    for (let b = second.oldest(); b !== undefined; b = second.oldest()) {
      order.push(b.batchId);
      second.remove(b);
    }
    expect(order).toEqual([ids[1], ids[2], ids[3]]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("stays within its byte bound by dropping the oldest batches, counting and logging the lost records", () => {
    const logs: string[] = [];
    const probe = new Spool(tempDir(), 1 << 20, () => {});
    const one = probe.add({ batch_id: ids[0] as string, records: records(50) }).bytes;
    const spool = new Spool(tempDir(), Math.floor(one * 2.5), (m) => logs.push(m));
    for (const id of ids) spool.add({ batch_id: id, records: records(50) });
    expect(spool.size).toBe(2);
    expect(spool.bytes).toBeLessThanOrEqual(Math.floor(one * 2.5));
    expect(spool.oldest()?.batchId).toBe(ids[2]);
    expect(spool.lost).toEqual({ batches: 2, records: 100 });
    expect(logs.join("\n")).toMatch(/spool full.*50 record\(s\) lost/);
  });
});
