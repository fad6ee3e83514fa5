import { readFileSync } from "node:fs";

/** Offset and size of an ELF64 (little-endian) section by name. */
export function elfSection(elf: Buffer, name: string): { offset: number; size: number } {
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const header = (i: number) => shoff + i * shentsize;
  const strtab = Number(elf.readBigUInt64LE(header(shstrndx) + 0x18));
  for (let i = 0; i < shnum; i++) {
    const nameOffset = elf.readUInt32LE(header(i));
    const end = elf.indexOf(0, strtab + nameOffset);
    if (elf.toString("latin1", strtab + nameOffset, end) === name) {
      return {
        offset: Number(elf.readBigUInt64LE(header(i) + 0x18)),
        size: Number(elf.readBigUInt64LE(header(i) + 0x20)),
      };
    }
  }
  throw new Error(`no section ${name}`);
}

/**
 * The real kernflow object with the first instruction of its tc programs replaced by an opcode that
 * does not exist: still a valid ELF for EM_BPF with every program, map and BTF the console checks, so
 * the upload is accepted, but the kernel's verifier refuses to load it.
 */
export function brokenBytecode(path: string): Buffer {
  const elf = Buffer.from(readFileSync(path));
  const tc = elfSection(elf, "tc");
  elf.fill(0xff, tc.offset, tc.offset + 8);
  return elf;
}

/** The real object with one character of its DWARF strings changed: a different sha256 that loads and
 * counts exactly like the original (libbpf and the kernel never read .debug_str). */
export function variantBytecode(path: string): Buffer {
  const elf = Buffer.from(readFileSync(path));
  const strings = elfSection(elf, ".debug_str");
  const at = strings.offset + 1;
  elf[at] = elf[at] === 0x78 ? 0x79 : 0x78;
  return elf;
}
