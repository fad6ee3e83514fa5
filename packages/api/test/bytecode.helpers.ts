// Real BPF objects for the bytecode tests: the one built from bpf/ and variants of it that are still valid
// (a unique trailer changes the sha256 but no section) or broken in exactly one way.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const builtObjectPath = fileURLToPath(new URL("../../../bpf/build/kernflow.bpf.o", import.meta.url));

export function builtObject(): Uint8Array {
  if (!existsSync(builtObjectPath)) {
    execFileSync("make", ["-C", fileURLToPath(new URL("../../../bpf", import.meta.url))], {
      stdio: "inherit",
    });
  }
  return new Uint8Array(readFileSync(builtObjectPath));
}

/** Still a valid object, with its own sha256: bytes after the last section are ignored by ELF readers. */
export function variant(base: Uint8Array, tag: string): Uint8Array {
  return Buffer.concat([base, Buffer.from(`\0kernflow-test:${tag}`)]);
}

/** Rewrites every NUL-terminated occurrence of `name` (symbol and BTF strings) to a same-length other name. */
export function renameString(base: Uint8Array, name: string, replacement: string): Uint8Array {
  if (replacement.length !== name.length) throw new Error("replacement must keep the length");
  const out = Buffer.from(base);
  const needle = Buffer.from(`${name}\0`);
  let at = out.indexOf(needle);
  if (at === -1) throw new Error(`${name} not in the object`);
  while (at !== -1) {
    out.write(replacement, at);
    at = out.indexOf(needle, at + 1);
  }
  return new Uint8Array(out);
}

/** Renames the section called `section` by editing its name in the section name table. */
export function renameSection(base: Uint8Array, section: string, replacement: string): Uint8Array {
  const out = Buffer.from(base);
  const shoff = Number(out.readBigUInt64LE(0x28));
  const shnum = out.readUInt16LE(0x3c);
  const shstrndx = out.readUInt16LE(0x3e);
  const strOffset = Number(out.readBigUInt64LE(shoff + shstrndx * 64 + 24));
  for (let i = 0; i < shnum; i++) {
    const nameAt = strOffset + out.readUInt32LE(shoff + i * 64);
    const end = out.indexOf(0, nameAt);
    if (out.toString("latin1", nameAt, end) === section) {
      out.write(replacement.padEnd(section.length, "x").slice(0, section.length), nameAt, "latin1");
      return new Uint8Array(out);
    }
  }
  throw new Error(`no section ${section}`);
}

export function patchU16(base: Uint8Array, offset: number, value: number): Uint8Array {
  const out = Buffer.from(base);
  out.writeUInt16LE(value, offset);
  return new Uint8Array(out);
}

export function patchU8(base: Uint8Array, offset: number, value: number): Uint8Array {
  const out = Buffer.from(base);
  out.writeUInt8(value, offset);
  return new Uint8Array(out);
}
