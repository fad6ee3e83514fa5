import { networkInterfaces } from "node:os";

const v4MappedPrefix = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

/** Text form of a 16-byte kernel address: dotted quad for IPv4-mapped, RFC 5952 form for IPv6. */
export function formatAddress(addr: Buffer): string {
  if (addr.length !== 16) throw new RangeError(`address must be 16 bytes, got ${addr.length}`);
  if (addr.subarray(0, 12).equals(v4MappedPrefix)) return `${addr[12]}.${addr[13]}.${addr[14]}.${addr[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(addr.readUInt16BE(i));
  // RFC 5952: compress the longest run (first if tied) of two or more zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** 16-byte kernel form of an IPv4 or IPv6 text address. */
export function parseAddress(text: string): Buffer {
  const out = Buffer.alloc(16);
  if (text.includes(".") && !text.includes(":")) {
    v4MappedPrefix.copy(out);
    text.split(".").forEach((part, i) => {
      out[12 + i] = Number(part);
    });
    return out;
  }
  const [head = "", tail] = text.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}

/** Addresses assigned to this host's interfaces, as formatted by formatAddress (no zone suffix). */
export function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.add(formatAddress(parseAddress(a.address.split("%")[0] ?? a.address)));
  }
  return out;
}
