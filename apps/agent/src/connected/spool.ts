import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzip, gzip, gzipSync } from "node:zlib";
import {
  type FlowBatch,
  isPackedBatchShape,
  type PackedFlowBatch,
  packedRecordCount,
  packFlowBatch,
  rowLayoutBatch,
  unpackRecords,
} from "@kernflow/protocol";
import { writeFileAtomic } from "./state";

/** 256 MiB of compressed batches: hours of a busy host's records while the console is away. */
export const defaultSpoolBytes = 256 * 1024 * 1024;

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

export interface SpooledBatch {
  file: string;
  seq: number;
  batchId: string;
  records: number;
  bytes: number;
  layout: SpoolLayout;
}

/**
 * What a spool file holds: the packed column layout (packed-batch.ts), whole records (flowBatchSchema), or
 * the packed row layout of the previous version (@kernflow/protocol row-layout.ts), which is only read, never written.
 */
export type SpoolLayout = "columns" | "records" | "rows";

/** The body forms: packed for the console and aggregators, whole records for a NATS stream. */
export type BatchBodyForm = "packed" | "records";

// The suffix names the layout. `.packed` files hold rows: the previous version wrote them, and as the
// console no longer reads rows, new packed files take a new suffix instead of changing what an old one means.
// Files without a suffix hold whole records (so do those of the versions before packing).
const namePattern = /^(\d{16})-(\d+)-([0-9a-f-]{36})(\.columns|\.packed)?\.json\.gz$/;
const layoutOfSuffix: Record<string, SpoolLayout> = { ".columns": "columns", ".packed": "rows" };

/**
 * Flow batches on disk, in the order they were made, until the console has accepted them. Every batch
 * goes through the spool (not only during an outage), so a crash or restart loses nothing either and the
 * next run replays what is left. Each file is the exact gzip body that is posted, so a retry sends the
 * same batch id and the console's idempotency keeps it from being counted twice. Bounded: past
 * `maxBytes` the oldest batches are dropped, and the loss is counted and logged.
 */
export class Spool {
  private readonly batches: SpooledBatch[] = [];
  private totalBytes = 0;
  private totalRecords = 0;
  private nextSeq = 1;
  readonly lost = { batches: 0, records: 0 };

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly log: (msg: string) => void,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(dir).sort()) {
      const match = namePattern.exec(name);
      if (match === null) {
        // A temp file of a write cut short by a crash: never renamed, so never a batch.
        if (name.endsWith(".tmp")) rmSync(join(dir, name), { force: true });
        continue;
      }
      const file = join(dir, name);
      this.push({
        file,
        seq: Number(match[1]),
        records: Number(match[2]),
        batchId: match[3] as string,
        bytes: statSync(file).size,
        layout: match[4] === undefined ? "records" : (layoutOfSuffix[match[4]] as SpoolLayout),
      });
    }
    const last = this.batches.at(-1);
    if (last) this.nextSeq = last.seq + 1;
  }

  private push(batch: SpooledBatch): void {
    this.batches.push(batch);
    this.totalBytes += batch.bytes;
    this.totalRecords += batch.records;
  }

  get size(): number {
    return this.batches.length;
  }

  /** Records waiting to be shipped. */
  get records(): number {
    return this.totalRecords;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Spools a batch in the form given (the one its destination takes, so the usual send converts nothing). */
  add(batch: FlowBatch | PackedFlowBatch): SpooledBatch {
    const seq = this.nextSeq++;
    const packed = isPackedBatchShape(batch);
    const records = packed
      ? packedRecordCount(batch as PackedFlowBatch)
      : (batch as FlowBatch).records.length;
    const body = gzipSync(JSON.stringify(batch));
    const file = join(
      this.dir,
      `${String(seq).padStart(16, "0")}-${records}-${batch.batch_id}${packed ? ".columns" : ""}.json.gz`,
    );
    writeFileAtomic(file, body);
    const spooled: SpooledBatch = {
      file,
      seq,
      batchId: batch.batch_id,
      records,
      bytes: body.length,
      layout: packed ? "columns" : "records",
    };
    this.push(spooled);
    this.enforceBound();
    return spooled;
  }

  private enforceBound(): void {
    let dropped = 0;
    let droppedRecords = 0;
    while (this.totalBytes > this.maxBytes && this.batches.length > 0) {
      const oldest = this.batches[0] as SpooledBatch;
      this.remove(oldest);
      dropped++;
      droppedRecords += oldest.records;
    }
    if (dropped > 0) {
      this.lost.batches += dropped;
      this.lost.records += droppedRecords;
      this.log(
        `spool full (${this.maxBytes} bytes): dropped the ${dropped} oldest batch(es), ${droppedRecords} record(s) lost ` +
          `(${this.lost.records} lost since start)`,
      );
    }
  }

  oldest(): SpooledBatch | undefined {
    return this.batches[0];
  }

  /** The exact gzip body as spooled. */
  body(batch: SpooledBatch): Buffer {
    return readFileSync(batch.file);
  }

  /**
   * The gzip body in the form a destination takes, converted when the batch was spooled in the other one
   * (the destination changed meanwhile, or NATS is away and the console gets the batch), or written in the
   * previous version's row layout. The batch id and the records stay the same, so the idempotent store
   * keeps it once either way. Throws if the file cannot be read as a batch.
   */
  async bodyAs(batch: SpooledBatch, form: BatchBodyForm): Promise<Buffer> {
    const body = this.body(batch);
    if (batch.layout === (form === "packed" ? "columns" : "records")) return body;
    const whole = wholeBatch(JSON.parse((await gunzipAsync(body)).toString("utf8")), batch.layout);
    return gzipAsync(
      JSON.stringify(form === "packed" ? packFlowBatch(whole.batch_id, whole.records) : whole),
    );
  }

  /** Forgets a batch (accepted by the console, or refused for good). */
  remove(batch: SpooledBatch): void {
    const index = this.batches.indexOf(batch);
    if (index < 0) return;
    this.batches.splice(index, 1);
    this.totalBytes -= batch.bytes;
    this.totalRecords -= batch.records;
    rmSync(batch.file, { force: true });
  }
}

/** A parsed spool file as whole records, whatever its layout. */
function wholeBatch(spooled: unknown, layout: SpoolLayout): FlowBatch {
  if (layout === "rows") return rowLayoutBatch(spooled);
  if (layout === "records") return spooled as FlowBatch;
  const packed = spooled as PackedFlowBatch;
  return { batch_id: packed.batch_id, records: unpackRecords(packed) };
}
