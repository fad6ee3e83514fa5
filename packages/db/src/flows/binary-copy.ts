// PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4),
// written straight into large Buffers: per value only a length and fixed-width bytes, nothing for the
// server to parse (text COPY made PostgreSQL parse every timestamp, address and number of every record).
import { writeIpv4, writeIpv6 } from "@kernflow/protocol";

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
export class BinaryCopyRows {
  private readonly chunks: Buffer[] = [];
  private buf: Buffer;
  private at = 0;

  constructor(private readonly chunkBytes = CHUNK_BYTES) {
    this.buf = Buffer.allocUnsafe(chunkBytes);
    this.at = HEADER.copy(this.buf, 0);
  }

  reserve(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    this.chunks.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(Math.max(this.chunkBytes, bytes));
    this.at = 0;
  }

  /** Starts a row of `fields` values. */
  row(fields: number): void {
    this.at = this.buf.writeInt16BE(fields, this.at);
  }

  null(): void {
    this.at = this.buf.writeInt32BE(-1, this.at);
  }

  int16(value: number): void {
    this.at = this.buf.writeInt32BE(2, this.at);
    this.at = this.buf.writeInt16BE(value, this.at);
  }

  int32(value: number): void {
    this.at = this.buf.writeInt32BE(4, this.at);
    this.at = this.buf.writeInt32BE(value, this.at);
  }

  int32OrNull(value: number | null): void {
    if (value === null) this.null();
    else this.int32(value);
  }

  /** An int8 from a JS integer (exact up to 2^53, as every count in a record is), without a BigInt. */
  int64(value: number): void {
    this.at = this.buf.writeInt32BE(8, this.at);
    this.int64Bytes(value);
  }

  int64OrNull(value: number | null): void {
    if (value === null) this.null();
    else this.int64(value);
  }

  private int64Bytes(value: number): void {
    const high = Math.floor(value / TWO_TO_32);
    this.at = this.buf.writeInt32BE(high, this.at);
    this.at = this.buf.writeUInt32BE(value - high * TWO_TO_32, this.at);
  }

  float8OrNull(value: number | null): void {
    if (value === null) {
      this.null();
      return;
    }
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeDoubleBE(value, this.at);
  }

  /** A timestamptz from µs since the Unix epoch. */
  timestampMicros(epochMicros: number): void {
    this.at = this.buf.writeInt32BE(8, this.at);
    this.int64Bytes(epochMicros - POSTGRES_EPOCH_US);
  }

  /** A uuid from its 16 bytes. */
  uuid(bytes: Buffer): void {
    this.at = this.buf.writeInt32BE(16, this.at);
    this.at += bytes.copy(this.buf, this.at);
  }

  /** An inet host address (no mask) from its text form, IPv4 or IPv6. Reserve 24 bytes. */
  inet(text: string): void {
    const buf = this.buf;
    let at = this.at;
    if (text.indexOf(":") < 0) {
      at = buf.writeInt32BE(8, at);
      buf[at] = FAMILY_INET;
      buf[at + 1] = 32;
      buf[at + 2] = 0;
      buf[at + 3] = 4;
      writeIpv4(text, buf, at + 4);
      this.at = at + 8;
    } else {
      at = buf.writeInt32BE(20, at);
      buf[at] = FAMILY_INET6;
      buf[at + 1] = 128;
      buf[at + 2] = 0;
      buf[at + 3] = 16;
      writeIpv6(text, buf, at + 4);
      this.at = at + 20;
    }
  }

  /** Text as UTF-8. Reserve 4 + 3 × length bytes (UTF-8 takes at most 3 bytes per UTF-16 unit). */
  text(value: string): void {
    const start = this.at + 4;
    const length = this.buf.write(value, start, "utf8");
    this.buf.writeInt32BE(length, this.at);
    this.at = start + length;
  }

  textOrNull(value: string | null): void {
    if (value === null) this.null();
    else this.text(value);
  }

  /** Ends the COPY data (the trailer) and returns its chunks. The object must not be written after. */
  finish(): Buffer[] {
    this.reserve(2);
    this.at = this.buf.writeInt16BE(-1, this.at);
    this.chunks.push(this.buf.subarray(0, this.at));
    return this.chunks;
  }
}
