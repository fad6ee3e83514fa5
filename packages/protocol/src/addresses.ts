/**
 * Text addresses (as in flow records) to network-order bytes, written straight into an output buffer: the
 * IPFIX encoder and the flow store's binary COPY run this for every record, so no intermediate arrays or
 * Buffers are made. Plain Uint8Array (a Buffer is one), so the protocol package stays browser-safe.
 */

/** Writes a dotted-quad IPv4 address as 4 bytes; throws on anything else. */
export function writeIpv4(text: string, out: Uint8Array, offset: number): void {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i === text.length ? 46 : text.charCodeAt(i);
    if (code === 46) {
      if (digits === 0 || value > 255 || part > 3) throw new Error(`not an IPv4 address: ${text}`);
      out[offset + part] = value;
      part += 1;
      value = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57) {
      value = value * 10 + (code - 48);
      digits += 1;
    } else {
      throw new Error(`not an IPv4 address: ${text}`);
    }
  }
  if (part !== 4) throw new Error(`not an IPv4 address: ${text}`);
}

/** Groups of the address being parsed; one scratch array, as the encoder parses one address at a time. */
const words = new Uint16Array(8);
const v4Tail = new Uint8Array(4);

/**
 * Writes an IPv6 address (with `::` compression and an optional dotted IPv4 tail) as 16 bytes; an IPv4
 * address is written as its IPv4-mapped form `::ffff:a.b.c.d`, for records that mix the families.
 * Read in one pass over the characters (no split, no regular expression): it runs for every IPv6 record.
 */
export function writeIpv6(text: string, out: Uint8Array, offset: number): void {
  if (!text.includes(":")) {
    out.fill(0, offset, offset + 10);
    out[offset + 10] = 0xff;
    out[offset + 11] = 0xff;
    writeIpv4(text, out, offset + 12);
    return;
  }
  const zone = text.indexOf("%");
  const end = zone === -1 ? text.length : zone;
  let count = 0;
  /** Index in `words` where `::` stands, -1 if none. */
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
  }
  while (i < end) {
    let value = 0;
    let j = i;
    for (; j < end && j - i <= 4; j++) {
      const h = hexValue(text.charCodeAt(j));
      if (h < 0) break;
      value = value * 16 + h;
    }
    if (j < end && text.charCodeAt(j) === 46 && j > i) {
      // A dotted IPv4 tail (decimal, so its first part is at most 3 digits) ends the address.
      if (count > 6) throw new Error(`not an IPv6 address: ${text}`);
      writeIpv4(text.slice(i, end), v4Tail, 0);
      words[count++] = ((v4Tail[0] as number) << 8) | (v4Tail[1] as number);
      words[count++] = ((v4Tail[2] as number) << 8) | (v4Tail[3] as number);
      i = end;
      break;
    }
    if (j === i || j - i > 4 || count === 8) throw new Error(`not an IPv6 address: ${text}`);
    words[count++] = value;
    if (j === end) break;
    if (text.charCodeAt(j) !== 58) throw new Error(`not an IPv6 address: ${text}`);
    if (text.charCodeAt(j + 1) === 58) {
      if (gap >= 0) throw new Error(`not an IPv6 address: ${text}`);
      gap = count;
      j += 2;
    } else {
      j += 1;
      if (j === end) throw new Error(`not an IPv6 address: ${text}`);
    }
    i = j;
  }
  if ((gap === -1 && count !== 8) || (gap >= 0 && count > 7)) {
    throw new Error(`not an IPv6 address: ${text}`);
  }
  out.fill(0, offset, offset + 16);
  const head = gap === -1 ? count : gap;
  for (let k = 0; k < head; k++) writeWord(out, offset + 2 * k, words[k] as number);
  const tailAt = offset + 16 - (count - head) * 2;
  for (let k = head; k < count; k++) writeWord(out, tailAt + 2 * (k - head), words[k] as number);
}

function writeWord(out: Uint8Array, at: number, word: number): void {
  out[at] = word >>> 8;
  out[at + 1] = word & 0xff;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}
