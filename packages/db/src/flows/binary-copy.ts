// PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4),
// written straight into large Buffers: per value only a length and fixed-width bytes, nothing for the
// server to parse (text COPY made PostgreSQL parse every timestamp, address and number of every record).
import { writeIpv4, writeIpv6 } from "@kernflow/protocol";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";

/** "PGCOPY\n\377\r\n\0", then flags and header-extension length (both 0). */
const HEADER = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
const TWO_TO_32 = 4_294_967_296;
/** timestamptz is µs since 2000-01-01 UTC. */
const POSTGRES_EPOCH_US = 946_684_800_000_000;
/** inet's address family codes (PGSQL_AF_INET, PGSQL_AF_INET6). */
const FAMILY_INET = 2;
const FAMILY_INET6 = 3;
const CHUNK_BYTES = 1 << 20;

/**
 * The rows of one COPY, as a list of Buffers of ~1 MiB (one allocation per chunk, not per value). Call
 * {@link reserve} with an upper bound of a row's size before writing it: a row never straddles two chunks,
 * so the writers need no bounds checks of their own.
 */
/** The 16 bytes of a uuid's text, as a binary COPY uuid field holds them. */
export function uuidBytes(text: string): Buffer {
  return Buffer.from(text.replaceAll("-", ""), "hex");
}

export class BinaryCopyRows {
  private readonly chunks: Buffer[] = [];
  private buf: Buffer;
  private at = 0;

  /** `header`: false for {@link encodedValues}, a few values and not a whole COPY. */
  constructor(
    private readonly chunkBytes = CHUNK_BYTES,
    header = true,
  ) {
    this.buf = Buffer.allocUnsafe(chunkBytes);
    this.at = header ? HEADER.copy(this.buf, 0) : 0;
  }

  reserve(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    this.chunks.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(Math.max(this.chunkBytes, bytes));
    this.at = 0;
  }

  // Bytes are stored by hand (a Uint8Array store keeps the low 8 bits): measured cheaper than Buffer's
  // writeInt32BE / copy / write calls for the few bytes of each value, which run ~25 times per record.
  private word(value: number): void {
    const buf = this.buf;
    const at = this.at;
    buf[at] = value >>> 24;
    buf[at + 1] = value >>> 16;
    buf[at + 2] = value >>> 8;
    buf[at + 3] = value;
    this.at = at + 4;
  }

  /** Starts a row of `fields` values. */
  row(fields: number): void {
    const at = this.at;
    this.buf[at] = fields >>> 8;
    this.buf[at + 1] = fields;
    this.at = at + 2;
  }

  null(): void {
    this.word(-1);
  }

  int16(value: number): void {
    this.word(2);
    const at = this.at;
    this.buf[at] = value >>> 8;
    this.buf[at + 1] = value;
    this.at = at + 2;
  }

  int32(value: number): void {
    // The checks refuse larger values before a batch gets here; wrapping silently would corrupt the row.
    if (value > 0x7fffffff || value < -0x80000000)
      throw new RangeError(`${value} does not fit an integer column`);
    this.word(4);
    this.word(value);
  }

  int32OrNull(value: number | null): void {
    if (value === null) this.null();
    else this.int32(value);
  }

  /** An int8 from a JS integer (exact up to 2^53, as every count in a record is), without a BigInt. */
  int64(value: number): void {
    this.word(8);
    this.int64Bytes(value);
  }

  int64OrNull(value: number | null): void {
    if (value === null) this.null();
    else this.int64(value);
  }

  private int64Bytes(value: number): void {
    const high = Math.floor(value / TWO_TO_32);
    this.word(high);
    this.word(value - high * TWO_TO_32);
  }

  float8OrNull(value: number | null): void {
    if (value === null) {
      this.null();
      return;
    }
    this.word(8);
    this.at = this.buf.writeDoubleBE(value, this.at);
  }

  /** A timestamptz from µs since the Unix epoch. */
  timestampMicros(epochMicros: number): void {
    this.word(8);
    this.int64Bytes(epochMicros - POSTGRES_EPOCH_US);
  }

  /** A uuid from its 16 bytes. */
  uuid(bytes: Uint8Array): void {
    this.word(16);
    const buf = this.buf;
    const at = this.at;
    for (let i = 0; i < 16; i++) buf[at + i] = bytes[i] as number;
    this.at = at + 16;
  }

  /** An inet host address (no mask) from its text form, IPv4 or IPv6. Reserve 24 bytes. */
  inet(text: string): void {
    const v6 = text.indexOf(":") >= 0;
    this.word(v6 ? 20 : 8);
    const buf = this.buf;
    const at = this.at;
    buf[at] = v6 ? FAMILY_INET6 : FAMILY_INET;
    buf[at + 1] = v6 ? 128 : 32;
    buf[at + 2] = 0;
    buf[at + 3] = v6 ? 16 : 4;
    if (v6) writeIpv6(text, buf, at + 4);
    else writeIpv4(text, buf, at + 4);
    this.at = at + (v6 ? 20 : 8);
  }

  /** Text as UTF-8. Reserve 4 + 3 × length bytes (UTF-8 takes at most 3 bytes per UTF-16 unit). */
  text(value: string): void {
    const buf = this.buf;
    const start = this.at + 4;
    const n = value.length;
    // Short ASCII (device, interface, vantage, direction, cluster: nearly every value) byte by byte; a
    // native utf8 write costs more than the copy itself for a few bytes.
    if (n <= 64) {
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c > 0x7f) break;
        buf[start + i] = c;
      }
      if (i === n) {
        this.word(n);
        this.at = start + n;
        return;
      }
    }
    const length = buf.write(value, start, "utf8");
    this.word(length);
    this.at = start + length;
  }

  textOrNull(value: string | null): void {
    if (value === null) this.null();
    else this.text(value);
  }

  /** Copies values encoded once by {@link encodedValues} (fields that repeat across rows). */
  encoded(bytes: Uint8Array): void {
    const buf = this.buf;
    const at = this.at;
    const n = bytes.length;
    // A few dozen bytes: a loop beats TypedArray.set's call overhead.
    if (n <= 64) for (let i = 0; i < n; i++) buf[at + i] = bytes[i] as number;
    else buf.set(bytes, at);
    this.at = at + n;
  }

  /** What was written, when it all fit the first chunk (values of {@link encodedValues}). */
  written(): Buffer {
    if (this.chunks.length > 0) throw new Error("written() of rows that outgrew their first chunk");
    return this.buf.subarray(0, this.at);
  }

  /** Ends the COPY data (the trailer) and returns its chunks. The object must not be written after. */
  finish(): Buffer[] {
    this.reserve(2);
    this.at = this.buf.writeInt16BE(-1, this.at);
    this.chunks.push(this.buf.subarray(0, this.at));
    return this.chunks;
  }
}

/**
 * Values written by `write` as binary COPY fields (no header, no row start), to be copied into rows with
 * {@link BinaryCopyRows.encoded}. `maxBytes` bounds what `write` writes.
 */
export function encodedValues(maxBytes: number, write: (rows: BinaryCopyRows) => void): Buffer {
  const rows = new BinaryCopyRows(maxBytes, false);
  rows.reserve(maxBytes);
  write(rows);
  return rows.written();
}

/** COPYs binary rows (from {@link BinaryCopyRows.finish}) into `target` ("table (columns)"). */
export async function copyBinary(
  client: pg.PoolClient,
  target: string,
  chunks: readonly Buffer[],
): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${target} FROM STDIN (FORMAT binary)`));
  await new Promise<void>((resolve, reject) => {
    stream.on("error", reject);
    stream.on("finish", resolve);
    for (const chunk of chunks) stream.write(chunk);
    stream.end();
  });
}
