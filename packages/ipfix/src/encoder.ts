import type { Endpoint, FlowRecord } from "@kernflow/protocol";
import { writeIpv4, writeIpv6 } from "./addresses";
import { DEFAULT_ENTERPRISE_NUMBER, UNKNOWN_U32 } from "./information-elements";
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
/** Strings up to 254 bytes use the 1-byte length form (RFC 7011 §7); longer ones are cut at 254. */
const MAX_STRING_BYTES = 254;
const TWO_POW_32 = 0x1_0000_0000;
const IPV4_FIXED_LENGTH = fixedRecordLength(ipv4Template);
const IPV6_FIXED_LENGTH = fixedRecordLength(ipv6Template);

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
 */
export class IpfixEncoder {
  readonly observationDomainId: number;
  readonly enterpriseNumber: number;
  readonly maxMessageBytes: number;
  private sequence = 0;
  /** The message being written; handed out as is (no copy) when finished, then replaced. */
  private work: Buffer;
  private readonly interfaceIndex: (name: string) => number;
  private readonly strings: (string | null)[] = new Array(STRING_FIELD_COUNT).fill(null);
  private readonly stringLengths: number[] = new Array(STRING_FIELD_COUNT).fill(0);

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
    this.work = Buffer.allocUnsafe(this.maxMessageBytes);
    this.interfaceIndex = options.interfaceIndex ?? firstSeenInterfaceIndex();
  }

  /** Data records encoded so far, modulo 2^32: the next message's sequence number. */
  get sequenceNumber(): number {
    return this.sequence;
  }

  /** A message holding only the template set (both templates). */
  templateMessage(exportTimeSeconds = nowSeconds()): Buffer {
    let at = MESSAGE_HEADER_LENGTH;
    at = this.writeTemplateSet(at);
    return this.finishMessage(at, exportTimeSeconds);
  }

  /**
   * Encodes records into as few messages as fit under maxMessageBytes. With `withTemplates`, the first
   * message starts with the template set, so a collector that just started can decode it on its own.
   */
  encode(
    records: readonly FlowRecord[],
    options: { withTemplates?: boolean; exportTimeSeconds?: number } = {},
  ): Buffer[] {
    const exportTime = options.exportTimeSeconds ?? nowSeconds();
    const messages: Buffer[] = [];
    let at = MESSAGE_HEADER_LENGTH;
    if (options.withTemplates === true) at = this.writeTemplateSet(at);
    let messageStartSequence = this.sequence;
    let recordsInMessage = 0;
    let setStart = -1;
    let setTemplate: Template | null = null;
    for (const record of records) {
      const template = isIpv6Record(record) ? ipv6Template : ipv4Template;
      const needsSet = setTemplate !== template;
      let length = this.prepareStrings(
        record,
        template === ipv6Template ? IPV6_FIXED_LENGTH : IPV4_FIXED_LENGTH,
      );
      if (
        at + (needsSet ? SET_HEADER_LENGTH : 0) + length > this.maxMessageBytes &&
        at > MESSAGE_HEADER_LENGTH
      ) {
        if (setStart >= 0) this.work.writeUInt16BE(at - setStart, setStart + 2);
        messages.push(this.finishMessage(at, exportTime, messageStartSequence));
        messageStartSequence = this.sequence;
        recordsInMessage = 0;
        at = MESSAGE_HEADER_LENGTH;
        setStart = -1;
        setTemplate = null;
      }
      if (setTemplate !== template) {
        if (setStart >= 0) this.work.writeUInt16BE(at - setStart, setStart + 2);
        setStart = at;
        this.work.writeUInt16BE(template.id, at);
        at += SET_HEADER_LENGTH;
        setTemplate = template;
      }
      length = this.writeRecord(record, template, at);
      at += length;
      recordsInMessage += 1;
      this.sequence = (this.sequence + 1) % TWO_POW_32;
    }
    if (setStart >= 0) this.work.writeUInt16BE(at - setStart, setStart + 2);
    if (recordsInMessage > 0 || at > MESSAGE_HEADER_LENGTH) {
      messages.push(this.finishMessage(at, exportTime, messageStartSequence));
    }
    return messages;
  }

  private writeTemplateSet(start: number): number {
    const buf = this.work;
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

  private finishMessage(end: number, exportTimeSeconds: number, sequence = this.sequence): Buffer {
    const buf = this.work;
    buf.writeUInt16BE(IPFIX_VERSION, 0);
    buf.writeUInt16BE(end, 2);
    buf.writeUInt32BE(exportTimeSeconds >>> 0, 4);
    buf.writeUInt32BE(sequence, 8);
    buf.writeUInt32BE(this.observationDomainId >>> 0, 12);
    // allocUnsafe takes small buffers from Node's pool: cheaper than copying each message out.
    this.work = Buffer.allocUnsafe(this.maxMessageBytes);
    return buf.subarray(0, end);
  }

  /**
   * Collects the record's strings in template order with their UTF-8 lengths, cut so that one record
   * always fits an otherwise empty message (long command lines are what gets cut). Returns the record's
   * encoded length.
   */
  private prepareStrings(record: FlowRecord, fixedLength: number): number {
    const s = this.strings;
    const { src, dst } = record;
    s[0] = record.interface;
    s[1] = record.device;
    fillEndpointPair(s, 2, src, dst);
    s[22] = record.cluster_id;
    const budget = this.maxMessageBytes - MESSAGE_HEADER_LENGTH - SET_HEADER_LENGTH - fixedLength;
    let total = 0;
    for (let i = 0; i < STRING_FIELD_COUNT; i++) {
      const value = s[i];
      const length =
        value === null || value === undefined ? 0 : Math.min(utf8Length(value), MAX_STRING_BYTES);
      this.stringLengths[i] = length;
      total += 1 + length;
    }
    while (total > budget) {
      let longest = 0;
      for (let i = 1; i < STRING_FIELD_COUNT; i++) {
        if ((this.stringLengths[i] as number) > (this.stringLengths[longest] as number)) longest = i;
      }
      const cut = Math.min(total - budget, this.stringLengths[longest] as number);
      this.stringLengths[longest] = (this.stringLengths[longest] as number) - cut;
      total -= cut;
    }
    return fixedLength + total;
  }

  /** Milliseconds of a record timestamp; the records' fixed RFC 3339 UTC form is read without Date.parse. */
  private parseTime(text: string): number {
    return parseRecordTime(text);
  }

  /** Writes one data record at `start` (strings from {@link prepareStrings}); returns its length. */
  private writeRecord(record: FlowRecord, template: Template, start: number): number {
    const buf = this.work;
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
    buf.writeUInt16BE(record.src_port, at);
    buf.writeUInt16BE(record.dst_port, at + 2);
    buf[at + 4] = record.protocol;
    at = writeU64(buf, at + 5, record.bytes);
    at = writeU64(buf, at, record.packets);
    at = writeU64(buf, at, this.parseTime(record.ts_start));
    at = writeU64(buf, at, this.parseTime(record.ts_end));
    buf.writeUInt16BE(record.tcp_flags, at);
    const ingress = record.direction === "ingress";
    buf[at + 2] = ingress ? 0 : 1;
    const ifindex = this.interfaceIndex(record.interface) >>> 0;
    buf.writeUInt32BE(ingress ? ifindex : 0, at + 3);
    buf.writeUInt32BE(ingress ? 0 : ifindex, at + 7);
    buf.writeUInt32BE(record.sample_rate >>> 0, at + 11);
    at += 15;
    buf.writeUInt32BE(record.src.pid ?? UNKNOWN_U32, at);
    buf.writeUInt32BE(record.dst.pid ?? UNKNOWN_U32, at + 4);
    at = writeU64(buf, at + 8, record.retransmits);
    buf.writeUInt32BE(record.rtt_us === null ? UNKNOWN_U32 : Math.min(record.rtt_us, UNKNOWN_U32 - 1), at);
    at += 4;
    at =
      record.app_latency_ms === null
        ? writeUnknownU64(buf, at)
        : writeU64(buf, at, Math.round(record.app_latency_ms * 1000));
    buf[at] = record.vantage === "src" ? 0 : 1;
    at += 1;
    for (let i = 0; i < STRING_FIELD_COUNT; i++) {
      const limit = this.stringLengths[i] as number;
      const value = this.strings[i];
      if (limit === 0 || value === null || value === undefined) {
        buf[at] = 0;
        at += 1;
        continue;
      }
      const written = writeString(buf, value, at + 1, limit);
      buf[at] = written;
      at += 1 + written;
    }
    return at - start;
  }
}

function fillEndpointPair(s: (string | null)[], from: number, src: Endpoint, dst: Endpoint): void {
  s[from] = src.process_name;
  s[from + 1] = dst.process_name;
  s[from + 2] = src.process_cmdline;
  s[from + 3] = dst.process_cmdline;
  s[from + 4] = src.container_id;
  s[from + 5] = dst.container_id;
  s[from + 6] = src.container_name;
  s[from + 7] = dst.container_name;
  s[from + 8] = src.object_name;
  s[from + 9] = dst.object_name;
  s[from + 10] = src.object_namespace;
  s[from + 11] = dst.object_namespace;
  s[from + 12] = src.object_type;
  s[from + 13] = dst.object_type;
  s[from + 14] = src.workload_name;
  s[from + 15] = dst.workload_name;
  s[from + 16] = src.workload_namespace;
  s[from + 17] = dst.workload_namespace;
  s[from + 18] = src.node;
  s[from + 19] = dst.node;
}

const digit = (text: string, at: number) => text.charCodeAt(at) - 48;
const two = (text: string, at: number) => digit(text, at) * 10 + digit(text, at + 1);

/**
 * `YYYY-MM-DDTHH:MM:SS[.fff…]Z` → epoch ms, read by position (several times faster than Date.parse, and
 * it runs twice per record); anything else falls back to Date.parse.
 */
export function parseRecordTime(text: string): number {
  const n = text.length;
  if (n >= 20 && text.charCodeAt(n - 1) === 90 && text.charCodeAt(10) === 84 && text.charCodeAt(4) === 45) {
    let ms = 0;
    if (n > 20 && text.charCodeAt(19) === 46) {
      // Fraction digits beyond milliseconds are truncated, as flowStartMilliseconds can hold no more.
      const f1 = n > 21 ? digit(text, 20) : 0;
      const f2 = n > 22 ? digit(text, 21) : 0;
      const f3 = n > 23 ? digit(text, 22) : 0;
      ms = f1 * 100 + f2 * 10 + f3;
    } else if (n !== 20) {
      return Date.parse(text);
    }
    const year = two(text, 0) * 100 + two(text, 2);
    const value =
      Date.UTC(year, two(text, 5) - 1, two(text, 8), two(text, 11), two(text, 14), two(text, 17)) + ms;
    if (Number.isFinite(value)) return value;
  }
  return Date.parse(text);
}

/** UTF-8 byte length; a JS loop beats Buffer.byteLength's native call for the short strings records hold. */
function utf8Length(text: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text, "utf8");
  }
  return text.length;
}

/**
 * Writes at most `limit` bytes of `text` as UTF-8 and returns how many were written. ASCII (nearly every
 * name and command line) is copied in JS; anything else goes through Buffer#write, which never splits a
 * UTF-8 sequence, so a cut string stays valid text (maybe a little shorter).
 */
function writeString(buf: Buffer, text: string, at: number, limit: number): number {
  const n = Math.min(text.length, limit);
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return buf.write(text, at, limit, "utf8");
    buf[at + i] = code;
  }
  return n;
}

function isIpv6Record(record: FlowRecord): boolean {
  return record.src_addr.includes(":") || record.dst_addr.includes(":");
}

/** Integers up to 2^53 as two 32-bit halves: BigInt conversion would dominate the per-record cost. */
function writeU64(buf: Buffer, at: number, value: number): number {
  buf.writeUInt32BE(Math.floor(value / TWO_POW_32), at);
  buf.writeUInt32BE(value % TWO_POW_32, at + 4);
  return at + 8;
}

function writeUnknownU64(buf: Buffer, at: number): number {
  buf.writeUInt32BE(UNKNOWN_U32, at);
  buf.writeUInt32BE(UNKNOWN_U32, at + 4);
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
