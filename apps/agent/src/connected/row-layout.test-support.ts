import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { rowLayoutBatchId, rowLayoutBody } from "@kernflow/protocol/row-layout-sample";

export { rowLayoutBatchId, rowLayoutBody, rowLayoutRecords } from "@kernflow/protocol/row-layout-sample";

/** Leaves {@link rowLayoutBody} in a spool directory under the name the previous version gave it. */
export function writeRowLayoutFile(dir: string, seq: number): string {
  const name = `${String(seq).padStart(16, "0")}-2-${rowLayoutBatchId}.packed.json.gz`;
  writeFileSync(join(dir, name), gzipSync(rowLayoutBody));
  return name;
}
