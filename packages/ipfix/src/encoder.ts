import { type FlowRecord, parseRecordTime, writeIpv4, writeIpv6 } from "@kernflow/protocol";
import { DEFAULT_ENTERPRISE_NUMBER, UNKNOWN_U32 } from "./information-elements";
import { cutRecordStrings, MAX_STRING_BYTES, writeRecordStrings, writeString } from "./record-strings";
import {
  fixedRecordLength,
  ipv4Template,
  ipv6Template,
  STRING_FIELD_COUNT,
  type Template,
  templateRecordLength,
  templates,
} from "./templates";

export const IPFIX_VERSION = 10;
export const MESSAGE_HEADER_LENGTH = 16;
const SET_HEADER_LENGTH = 4;
const TEMPLATE_SET_ID = 2;
/** RFC 7011 §10.3.3: a UDP exporter should keep messages within the path MTU; 1400 leaves room for tunnels. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1400;
const TWO_POW_32 = 0x1_0000_0000;
const IPV4_FIXED_LENGTH = fixedRecordLength(ipv4Template);
const IPV6_FIXED_LENGTH = fixedRecordLength(ipv6Template);
/** A record with every string at its 254-byte cap: what one record can write before it is measured. */
const LONGEST_RECORD = IPV6_FIXED_LENGTH + STRING_FIELD_COUNT * (1 + MAX_STRING_BYTES);
/**
 * Messages are written one after another into chunks of this size (or two messages' worth, if larger):
 * one allocation per ~45 default messages, and small enough that an exporter per console target is cheap.
 */
const CHUNK_BYTES = 64 * 1024;

export interface EncoderOptions {
  /** Observation domain id in every message header (RFC 7011 §3.1); default 1. */
  observationDomainId?: number;
  /** Private enterprise number of kernflow's IEs; default {@link DEFAULT_ENTERPRISE_NUMBER} (a placeholder). */
  enterpriseNumber?: number;
  /** Largest message, header included; default 1400 bytes (UDP payload under a 1500-byte MTU). */
  maxMessageBytes?: number;
  /** ifindex for ingressInterface/egressInterface; default: a stable number per name, in order first seen. */
  interfaceIndex?: (name: string) => number;
}

/**
 * Encodes flow records as IPFIX messages (RFC 7011) with two templates (IPv4 and IPv6). Keeps the
 * sequence number: the count, modulo 2^32, of data records in the messages it has produced, which is
 * what a collector compares to count losses (RFC 7011 §3.1). One encoder per transport session.
 *
 * Messages are written straight into a large chunk, one after another, and handed out as views of it
 * (no copy, no allocation per message); a handed-out message is never written again.
 */
export class IpfixEncoder {
  readonly observationDomainId: number;
  readonly enterpriseNumber: number;
  readonly maxMessageBytes: number;
  private sequence = 0;
  private chunk: Buffer;
  /** `chunk` as a DataView: its big-endian stores compile to a single store, without Buffer#write*'s checks. */
  private view: DataView;
  /** Offset in `chunk` of the message being written. */
  private messageStart = 0;
  /** Room a message needs in its chunk: itself, plus one uncut record written past its end (see encode). */
  private readonly messageRoom: number;
  private readonly interfaceIndex: (name: string) => number;
  /** The last interface looked up: records of a batch nearly always share one. */
  private lastInterface: string | null = null;
  private lastIfindex = 0;

  constructor(options: EncoderOptions = {}) {
    this.observationDomainId = options.observationDomainId ?? 1;
    this.enterpriseNumber = options.enterpriseNumber ?? DEFAULT_ENTERPRISE_NUMBER;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const templateSetLength = SET_HEADER_LENGTH + templates.reduce((n, t) => n + templateRecordLength(t), 0);
    const smallestUseful =
      MESSAGE_HEADER_LENGTH + templateSetLength + SET_HEADER_LENGTH + fixedRecordLength(ipv6Template) + 64;
    if (this.maxMessageBytes < smallestUseful || this.maxMessageBytes > 65535) {
      throw new RangeError(`maxMessageBytes must be between ${smallestUseful} and 65535`);
    }
    if (
      !Number.isInteger(this.enterpriseNumber) ||
      this.enterpriseNumber < 1 ||
      this.enterpriseNumber >= TWO_POW_32
    ) {
      throw new RangeError("enterpriseNumber must be an integer between 1 and 4294967295");
    }
    this.messageRoom = this.maxMessageBytes + SET_HEADER_LENGTH + LONGEST_RECORD;
    this.chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, 2 * this.messageRoom));
    this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.length);
    this.interfaceIndex = options.interfaceIndex ?? firstSeenInterfaceIndex();
  }

  /** Data records encoded so far, modulo 2^32: the next message's sequence number. */
  get sequenceNumber(): number {
    return this.sequence;
  }

  /** A message holding only the template set (both templates). */
  templateMessage(exportTimeSeconds = nowSeconds()): Buffer {
    const at = this.writeTemplateSet(this.messageStart + MESSAGE_HEADER_LENGTH);
    return this.finishMessage(at, exportTimeSeconds, this.sequence);
  }

  /**
   * Encodes records into as few messages as fit under maxMessageBytes. With `withTemplates`, the first
   * message starts with the template set, so a collector that just started can decode it on its own.
   *
   * Each record is written in one pass right after the message so far, then measured: if it does not fit,
   * the message is closed before it and the record's bytes move (a short copy, about once per message)
   * to the start of the next one, which begins where the closed one ends.
   */
  encode(
    records: readonly FlowRecord[],
    options: { withTemplates?: boolean; exportTimeSeconds?: number } = {},
  ): Buffer[] {
    const exportTime = options.exportTimeSeconds ?? nowSeconds();
    const max = this.maxMessageBytes;
    const messages: Buffer[] = [];
    let at = this.messageStart + MESSAGE_HEADER_LENGTH;
    if (options.withTemplates === true) at = this.writeTemplateSet(at);
    let messageStartSequence = this.sequence;
    let setStart = -1;
    let setTemplate: Template | null = null;
    for (let r = 0; r < records.length; r++) {
      const record = records[r] as FlowRecord;
      const template = isIpv6Record(record) ? ipv6Template : ipv4Template;
      let needsSet = setTemplate !== template;
      let recordStart = needsSet ? at + SET_HEADER_LENGTH : at;
      let end = this.writeRecord(record, template, recordStart);
      if (end - recordStart > max - MESSAGE_HEADER_LENGTH - SET_HEADER_LENGTH) {
        end = this.writeCutRecord(record, template, recordStart);
      }
      if (end - this.messageStart > max && at > this.messageStart + MESSAGE_HEADER_LENGTH) {
        if (setStart >= 0) this.chunk.writeUInt16BE(at - setStart, setStart + 2);
        const written = this.chunk;
        messages.push(this.finishMessage(at, exportTime, messageStartSequence));
        messageStartSequence = this.sequence;
        const length = end - recordStart;
        at = this.messageStart + MESSAGE_HEADER_LENGTH;
        const moved = at + SET_HEADER_LENGTH;
        if (written === this.chunk) this.chunk.copyWithin(moved, recordStart, end);
        else written.copy(this.chunk, moved, recordStart, end);
        recordStart = moved;
        end = moved + length;
        setStart = -1;
        needsSet = true;
      }
      if (needsSet) {
        if (setStart >= 0) this.chunk.writeUInt16BE(at - setStart, setStart + 2);
        setStart = at;
        this.chunk.writeUInt16BE(template.id, at);
        setTemplate = template;
      }
      at = end;
      this.sequence = (this.sequence + 1) % TWO_POW_32;
    }
    if (setStart >= 0) this.chunk.writeUInt16BE(at - setStart, setStart + 2);
    if (at > this.messageStart + MESSAGE_HEADER_LENGTH) {
      messages.push(this.finishMessage(at, exportTime, messageStartSequence));
    }
    return messages;
  }

  private writeTemplateSet(start: number): number {
    const buf = this.chunk;
    let at = start + SET_HEADER_LENGTH;
    for (const template of templates) {
      buf.writeUInt16BE(template.id, at);
      buf.writeUInt16BE(template.fields.length, at + 2);
      at += 4;
      for (const field of template.fields) {
        buf.writeUInt16BE(field.enterprise ? field.id | 0x8000 : field.id, at);
        buf.writeUInt16BE(field.length, at + 2);
        at += 4;
        if (field.enterprise) {
          buf.writeUInt32BE(this.enterpriseNumber, at);
          at += 4;
        }
      }
    }
    buf.writeUInt16BE(TEMPLATE_SET_ID, start);
    buf.writeUInt16BE(at - start, start + 2);
    return at;
  }

  /**
   * Writes the header of the message that ends at `end`, hands it out as a view and starts the next
   * message right after it, or in a fresh chunk when this one has no room left for a whole message.
   */
  private finishMessage(end: number, exportTimeSeconds: number, sequence: number): Buffer {
    const buf = this.chunk;
    const start = this.messageStart;
    buf.writeUInt16BE(IPFIX_VERSION, start);
    buf.writeUInt16BE(end - start, start + 2);
    buf.writeUInt32BE(exportTimeSeconds >>> 0, start + 4);
    buf.writeUInt32BE(sequence, start + 8);
    buf.writeUInt32BE(this.observationDomainId >>> 0, start + 12);
    if (buf.length - end >= this.messageRoom) {
      this.messageStart = end;
    } else {
      this.chunk = Buffer.allocUnsafeSlow(buf.length);
      this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.length);
      this.messageStart = 0;
    }
    return buf.subarray(start, end);
  }

  /** Writes one data record at `start`, every string cut at 254 bytes; returns the offset after it. */
  private writeRecord(record: FlowRecord, template: Template, start: number): number {
    const at = this.writeFixed(record, template, start);
    return writeRecordStrings(this.chunk, at, record);
  }

  /** The same record with its longest strings cut so that it fits an otherwise empty message. */
  private writeCutRecord(record: FlowRecord, template: Template, start: number): number {
    let at = this.writeFixed(record, template, start);
    const fixedLength = template === ipv6Template ? IPV6_FIXED_LENGTH : IPV4_FIXED_LENGTH;
    const budget = this.maxMessageBytes - MESSAGE_HEADER_LENGTH - SET_HEADER_LENGTH - fixedLength;
    const { strings, limits } = cutRecordStrings(record, budget);
    for (let i = 0; i < STRING_FIELD_COUNT; i++) {
      at = writeString(this.chunk, at, strings[i], limits[i]);
    }
    return at;
  }

  /**
   * Writes the fixed-length fields (template order); returns the offset of the first string. Values are
   * trusted to be in range (records are validated where they enter, against the protocol's schema).
   */
  private writeFixed(record: FlowRecord, template: Template, start: number): number {
    const buf = this.chunk;
    const view = this.view;
    let at = start;
    if (template === ipv6Template) {
      writeIpv6(record.src_addr, buf, at);
      writeIpv6(record.dst_addr, buf, at + 16);
      at += 32;
    } else {
      writeIpv4(record.src_addr, buf, at);
      writeIpv4(record.dst_addr, buf, at + 4);
      at += 8;
    }
    view.setUint16(at, record.src_port);
    view.setUint16(at + 2, record.dst_port);
    buf[at + 4] = record.protocol;
    at = writeU64(view, at + 5, record.bytes);
    at = writeU64(view, at, record.packets);
    at = writeU64(view, at, parseRecordTime(record.ts_start));
    at = writeU64(view, at, parseRecordTime(record.ts_end));
    view.setUint16(at, record.tcp_flags);
    const ingress = record.direction === "ingress";
    buf[at + 2] = ingress ? 0 : 1;
    const ifindex = this.ifindexOf(record.interface);
    view.setUint32(at + 3, ingress ? ifindex : 0);
    view.setUint32(at + 7, ingress ? 0 : ifindex);
    view.setUint32(at + 11, record.sample_rate);
    at += 15;
    view.setUint32(at, record.src.pid ?? UNKNOWN_U32);
    view.setUint32(at + 4, record.dst.pid ?? UNKNOWN_U32);
    at = writeU64(view, at + 8, record.retransmits);
    view.setUint32(at, record.rtt_us === null ? UNKNOWN_U32 : Math.min(record.rtt_us, UNKNOWN_U32 - 1));
    at += 4;
    if (record.app_latency_ms === null) {
      view.setUint32(at, UNKNOWN_U32);
      view.setUint32(at + 4, UNKNOWN_U32);
      at += 8;
    } else {
      at = writeU64(view, at, Math.round(record.app_latency_ms * 1000));
    }
    buf[at] = record.vantage === "src" ? 0 : 1;
    return at + 1;
  }

  private ifindexOf(name: string): number {
    if (name !== this.lastInterface) {
      this.lastIfindex = this.interfaceIndex(name) >>> 0;
      this.lastInterface = name;
    }
    return this.lastIfindex;
  }
}

function isIpv6Record(record: FlowRecord): boolean {
  return record.src_addr.includes(":") || record.dst_addr.includes(":");
}

/**
 * Integers up to 2^53 as two 32-bit halves: BigInt conversion would dominate the per-record cost, and the
 * low half is a subtraction, not `%` (a floating-point remainder, a call into C).
 */
function writeU64(view: DataView, at: number, value: number): number {
  const high = Math.floor(value / TWO_POW_32);
  view.setUint32(at, high);
  view.setUint32(at + 4, value - high * TWO_POW_32);
  return at + 8;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Interface names → numbers 1, 2, 3 … in the order this exporter first sees them: records carry names,
 * not the kernel's ifindex (which the console cannot know). The name itself goes in interfaceName (82).
 */
export function firstSeenInterfaceIndex(): (name: string) => number {
  const indexes = new Map<string, number>();
  return (name) => {
    let index = indexes.get(name);
    if (index === undefined) {
      index = indexes.size + 1;
      indexes.set(name, index);
    }
    return index;
  };
}
