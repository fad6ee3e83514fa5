import type { Endpoint, FlowRecord } from "@kernflow/protocol";
import { STRING_FIELD_COUNT } from "./templates";

/**
 * The variable-length part of a data record: its 23 strings in template order (RFC 7011 §7 short form:
 * one length byte, then the UTF-8 bytes). Strings are most of a record's bytes and of its encoding cost.
 */

/** Strings up to 254 bytes use the 1-byte length form (RFC 7011 §7); longer ones are cut at 254. */
export const MAX_STRING_BYTES = 254;

/**
 * Writes one string (length byte + at most `limit` UTF-8 bytes) at `at`; returns the offset after it.
 * Unknown (null, or missing in a record from an older agent) is the empty string. ASCII (nearly every
 * name and command line) is copied in JS, cheaper than a native call for strings this short; anything
 * else goes through Buffer#write, which never splits a UTF-8 sequence, so a cut string stays valid text.
 * The caller guarantees room for `limit` bytes.
 */
export function writeString(
  buf: Buffer,
  at: number,
  text: string | null | undefined,
  limit = MAX_STRING_BYTES,
): number {
  if (text == null || limit === 0) {
    buf[at] = 0;
    return at + 1;
  }
  const n = Math.min(text.length, limit);
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) {
      const written = buf.write(text, at + 1, limit, "utf8");
      buf[at] = written;
      return at + 1 + written;
    }
    buf[at + 1 + i] = code;
  }
  buf[at] = n;
  return at + 1 + n;
}

/**
 * Writes every string of the record, each cut at 254 bytes, in one pass (lengths are not measured first:
 * the encoder checks the record against the message size after writing it, see IpfixEncoder#encode).
 */
export function writeRecordStrings(buf: Buffer, at: number, record: FlowRecord): number {
  at = writeString(buf, at, record.interface);
  at = writeString(buf, at, record.device);
  at = writeEndpointPair(buf, at, record.src, record.dst);
  return writeString(buf, at, record.cluster_id);
}

function writeEndpointPair(buf: Buffer, at: number, src: Endpoint, dst: Endpoint): number {
  at = writeString(buf, at, src.process_name);
  at = writeString(buf, at, dst.process_name);
  at = writeString(buf, at, src.process_cmdline);
  at = writeString(buf, at, dst.process_cmdline);
  at = writeString(buf, at, src.container_id);
  at = writeString(buf, at, dst.container_id);
  at = writeString(buf, at, src.container_name);
  at = writeString(buf, at, dst.container_name);
  at = writeString(buf, at, src.object_name);
  at = writeString(buf, at, dst.object_name);
  at = writeString(buf, at, src.object_namespace);
  at = writeString(buf, at, dst.object_namespace);
  at = writeString(buf, at, src.object_type);
  at = writeString(buf, at, dst.object_type);
  at = writeString(buf, at, src.workload_name);
  at = writeString(buf, at, dst.workload_name);
  at = writeString(buf, at, src.workload_namespace);
  at = writeString(buf, at, dst.workload_namespace);
  at = writeString(buf, at, src.node);
  return writeString(buf, at, dst.node);
}

/**
 * For a record too long for an otherwise empty message (in practice: long command lines): its strings in
 * template order and the byte limit of each, its longest strings cut until the strings take at most
 * `budget` bytes (length bytes included).
 */
export function cutRecordStrings(
  record: FlowRecord,
  budget: number,
): { strings: (string | null)[]; limits: number[] } {
  const { src, dst } = record;
  const strings: (string | null)[] = [
    record.interface,
    record.device,
    src.process_name,
    dst.process_name,
    src.process_cmdline,
    dst.process_cmdline,
    src.container_id,
    dst.container_id,
    src.container_name,
    dst.container_name,
    src.object_name,
    dst.object_name,
    src.object_namespace,
    dst.object_namespace,
    src.object_type,
    dst.object_type,
    src.workload_name,
    dst.workload_name,
    src.workload_namespace,
    dst.workload_namespace,
    src.node,
    dst.node,
    record.cluster_id,
  ];
  const limits: number[] = new Array(STRING_FIELD_COUNT);
  let total = 0;
  for (let i = 0; i < STRING_FIELD_COUNT; i++) {
    const value = strings[i];
    limits[i] = value == null ? 0 : Math.min(Buffer.byteLength(value, "utf8"), MAX_STRING_BYTES);
    total += 1 + (limits[i] as number);
  }
  while (total > budget) {
    let longest = 0;
    for (let i = 1; i < STRING_FIELD_COUNT; i++) {
      if ((limits[i] as number) > (limits[longest] as number)) longest = i;
    }
    const cut = Math.min(total - budget, limits[longest] as number);
    limits[longest] = (limits[longest] as number) - cut;
    total -= cut;
  }
  return { strings, limits };
}
