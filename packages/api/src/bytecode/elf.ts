import { mapNames, programNames } from "@kernflow/protocol";

/**
 * Checks that an uploaded file is a BPF object the agent can load, in pure TypeScript (no readelf or
 * bpftool on the console host): ELF64 little-endian, machine EM_BPF, relocatable, a `.BTF` section (CO-RE
 * relocations need it), every program and map the agent's loader looks up by name, and a size limit.
 * Every offset read is bounds-checked, so a hostile file can only be rejected, never crash the console.
 */

export const MAX_BYTECODE_BYTES = 8 * 1024 * 1024;

const EM_BPF = 247;
const ET_REL = 1;
const SHT_SYMTAB = 2;
const SHF_EXECINSTR = 0x4;
const STT_FUNC = 2;
const SECTION_HEADER_SIZE = 64;
const SYMBOL_SIZE = 24;

const machineNames: Record<number, string> = {
  3: "x86",
  8: "MIPS",
  20: "PowerPC",
  21: "PowerPC64",
  22: "S/390",
  40: "ARM",
  62: "x86-64",
  183: "AArch64",
  243: "RISC-V",
  258: "LoongArch",
};

export class InvalidBytecodeError extends Error {
  override readonly name = "InvalidBytecodeError";
}

interface Section {
  name: string;
  type: number;
  flags: bigint;
  offset: number;
  size: number;
  link: number;
}

export interface BytecodeSummary {
  programs: string[];
  maps: string[];
  btfBytes: number;
}

class Reader {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private check(offset: number, length: number, what: string): void {
    if (offset < 0 || length < 0 || offset + length > this.bytes.byteLength) {
      throw new InvalidBytecodeError(`truncated or corrupt ELF file: ${what} lies outside the file`);
    }
  }
  u8(offset: number, what: string): number {
    this.check(offset, 1, what);
    return this.view.getUint8(offset);
  }
  u16(offset: number, what: string): number {
    this.check(offset, 2, what);
    return this.view.getUint16(offset, true);
  }
  u32(offset: number, what: string): number {
    this.check(offset, 4, what);
    return this.view.getUint32(offset, true);
  }
  u64(offset: number, what: string): bigint {
    this.check(offset, 8, what);
    return this.view.getBigUint64(offset, true);
  }
  /** An offset or size that must fit in the file; anything bigger is corrupt by definition. */
  size(offset: number, what: string): number {
    const value = this.u64(offset, what);
    if (value > BigInt(this.bytes.byteLength)) {
      throw new InvalidBytecodeError(`truncated or corrupt ELF file: ${what} lies outside the file`);
    }
    return Number(value);
  }
  /** A NUL-terminated name inside a string table section. */
  string(table: Section, index: number, what: string): string {
    if (index >= table.size) throw new InvalidBytecodeError(`truncated or corrupt ELF file: ${what}`);
    const start = table.offset + index;
    const end = table.offset + table.size;
    this.check(table.offset, table.size, "a string table");
    let stop = start;
    while (stop < end && this.bytes[stop] !== 0) stop += 1;
    return new TextDecoder().decode(this.bytes.subarray(start, stop));
  }
}

function checkHeader(r: Reader): void {
  const b = r.bytes;
  if (b.byteLength < 4 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) {
    throw new InvalidBytecodeError("not an ELF file");
  }
  if (b.byteLength < 64) throw new InvalidBytecodeError("truncated ELF file: shorter than its header");
  const elfClass = r.u8(4, "the ELF class");
  if (elfClass !== 2) throw new InvalidBytecodeError("a 32-bit ELF file, expected a 64-bit BPF object");
  if (r.u8(5, "the byte order") !== 1) {
    throw new InvalidBytecodeError("a big-endian ELF file, expected little-endian (clang -target bpfel)");
  }
  const machine = r.u16(18, "the machine");
  if (machine !== EM_BPF) {
    const known = machineNames[machine];
    throw new InvalidBytecodeError(
      `machine is ${known ? `${known} (${machine})` : machine}, expected BPF (${EM_BPF})`,
    );
  }
  const type = r.u16(16, "the file type");
  if (type !== ET_REL) {
    throw new InvalidBytecodeError(
      `not a relocatable object (ELF type ${type}): upload the .o that clang -target bpf produces`,
    );
  }
}

function readSections(r: Reader): Section[] {
  const shoff = r.size(0x28, "the section header table");
  const shentsize = r.u16(0x3a, "the section header size");
  const shnum = r.u16(0x3c, "the section count");
  const shstrndx = r.u16(0x3e, "the section name table index");
  if (shnum === 0) throw new InvalidBytecodeError("no sections: not a compiled BPF object");
  if (shentsize !== SECTION_HEADER_SIZE) {
    throw new InvalidBytecodeError(`corrupt ELF file: section headers of ${shentsize} bytes, expected 64`);
  }
  const raw: Array<Omit<Section, "name"> & { nameIndex: number }> = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * SECTION_HEADER_SIZE;
    const what = `section header ${i}`;
    const section = {
      nameIndex: r.u32(at, what),
      type: r.u32(at + 4, what),
      flags: r.u64(at + 8, what),
      offset: r.size(at + 24, what),
      size: r.size(at + 32, what),
      link: r.u32(at + 40, what),
    };
    // SHT_NOBITS (8) occupies no file bytes; every other section must lie inside the file.
    if (section.type !== 8 && section.offset + section.size > r.bytes.byteLength) {
      throw new InvalidBytecodeError(`truncated or corrupt ELF file: section ${i} lies outside the file`);
    }
    raw.push(section);
  }
  const names = raw[shstrndx];
  if (!names)
    throw new InvalidBytecodeError("corrupt ELF file: the section name table index is out of range");
  const nameTable = { ...names, name: "" };
  return raw.map(({ nameIndex, ...s }) => ({ ...s, name: r.string(nameTable, nameIndex, "a section name") }));
}

interface SymbolInfo {
  name: string;
  type: number;
  sectionIndex: number;
}

function readSymbols(r: Reader, sections: Section[]): SymbolInfo[] {
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  if (!symtab)
    throw new InvalidBytecodeError("no symbol table: the object was stripped; build it without -s");
  const strtab = sections[symtab.link];
  if (!strtab) throw new InvalidBytecodeError("corrupt ELF file: the symbol table names no string table");
  const symbols: SymbolInfo[] = [];
  for (let at = symtab.offset; at + SYMBOL_SIZE <= symtab.offset + symtab.size; at += SYMBOL_SIZE) {
    const info = r.u8(at + 4, "a symbol");
    symbols.push({
      name: r.string(strtab, r.u32(at, "a symbol"), "a symbol name"),
      type: info & 0xf,
      sectionIndex: r.u16(at + 6, "a symbol"),
    });
  }
  return symbols;
}

/** Throws InvalidBytecodeError with the first reason the file cannot be the agent's bytecode. */
export function validateBytecode(bytes: Uint8Array): BytecodeSummary {
  if (bytes.byteLength === 0) throw new InvalidBytecodeError("the file is empty");
  if (bytes.byteLength > MAX_BYTECODE_BYTES) {
    throw new InvalidBytecodeError(
      `the file is ${bytes.byteLength} bytes; bytecode is limited to ${MAX_BYTECODE_BYTES} bytes (8 MiB)`,
    );
  }
  const r = new Reader(bytes);
  checkHeader(r);
  const sections = readSections(r);
  const btf = sections.find((s) => s.name === ".BTF");
  if (!btf || btf.size === 0) throw new InvalidBytecodeError("no BTF section: build with -g");
  const symbols = readSymbols(r, sections);

  const programs = symbols
    .filter((s) => {
      const section = sections[s.sectionIndex];
      return s.type === STT_FUNC && section !== undefined && (section.flags & BigInt(SHF_EXECINSTR)) !== 0n;
    })
    .map((s) => s.name);
  for (const wanted of Object.values(programNames)) {
    if (!programs.includes(wanted)) throw new InvalidBytecodeError(`missing program ${wanted}`);
  }

  const mapsIndex = sections.findIndex((s) => s.name === ".maps");
  const maps = mapsIndex === -1 ? [] : symbols.filter((s) => s.sectionIndex === mapsIndex).map((s) => s.name);
  for (const wanted of Object.values(mapNames)) {
    if (!maps.includes(wanted)) throw new InvalidBytecodeError(`missing map ${wanted}`);
  }
  return { programs, maps, btfBytes: btf.size };
}
