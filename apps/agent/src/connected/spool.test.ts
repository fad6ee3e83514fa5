import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { type FlowRecord, flowBatchSchema, packedFlowBatchSchema, packFlowBatch } from "@kernflow/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { sampleRecord } from "../sinks/fixtures.test-support";
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
    expect([packed.packed, whole.packed]).toEqual([true, false]);
    // A restart reads the form from the file name.
    const again = new Spool(dir, 1 << 20, () => {});
    expect(again.oldest()).toMatchObject({ batchId: ids[0], records: 3, packed: true });
    const read = async (b: typeof packed, form: "packed" | "records") =>
      JSON.parse(gunzipSync(await spool.bodyAs(b, form)).toString());
    expect(await spool.bodyAs(packed, "packed")).toEqual(spool.body(packed));
    expect(packedFlowBatchSchema.parse(await read(packed, "packed")).records).toHaveLength(3);
    expect(flowBatchSchema.parse(await read(packed, "records"))).toEqual({
      batch_id: ids[0],
      records: records(3),
    });
    expect(packedFlowBatchSchema.parse(await read(whole, "packed"))).toEqual(
      packFlowBatch(ids[1] as string, records(2)),
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
