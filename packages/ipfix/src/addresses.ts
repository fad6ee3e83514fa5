/**
 * Text addresses (as in flow records) to network-order bytes, written straight into the message buffer:
 * the encoder runs for every record, so no intermediate arrays or Buffers are made.
 */

/** Writes a dotted-quad IPv4 address as 4 bytes; throws on anything else. */
export function writeIpv4(text: string, out: Buffer, offset: number): void {
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

/**
 * Writes an IPv6 address (with `::` compression and an optional dotted IPv4 tail) as 16 bytes; an IPv4
 * address is written as its IPv4-mapped form `::ffff:a.b.c.d`, for records that mix the families.
 */
export function writeIpv6(text: string, out: Buffer, offset: number): void {
  if (!text.includes(":")) {
    out.fill(0, offset, offset + 10);
    out[offset + 10] = 0xff;
    out[offset + 11] = 0xff;
    writeIpv4(text, out, offset + 12);
    return;
  }
  const zone = text.indexOf("%");
  const address = zone === -1 ? text : text.slice(0, zone);
  const halves = address.split("::");
  if (halves.length > 2) throw new Error(`not an IPv6 address: ${text}`);
  const head = groups(halves[0] as string, text);
  const tail = halves.length === 2 ? groups(halves[1] as string, text) : [];
  const total = head.length + tail.length;
  if ((halves.length === 1 && total !== 8) || (halves.length === 2 && total > 7)) {
    throw new Error(`not an IPv6 address: ${text}`);
  }
  out.fill(0, offset, offset + 16);
  let at = offset;
  for (const group of head) {
    out.writeUInt16BE(group, at);
    at += 2;
  }
  at = offset + 16 - tail.length * 2;
  for (const group of tail) {
    out.writeUInt16BE(group, at);
    at += 2;
  }
}

/** Colon-separated hex groups; a dotted IPv4 last part counts as two groups. */
function groups(part: string, text: string): number[] {
  if (part === "") return [];
  const result: number[] = [];
  const items = part.split(":");
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as string;
    if (i === items.length - 1 && item.includes(".")) {
      const v4 = Buffer.alloc(4);
      writeIpv4(item, v4, 0);
      result.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(item)) throw new Error(`not an IPv6 address: ${text}`);
      result.push(Number.parseInt(item, 16));
    }
  }
  return result;
}
