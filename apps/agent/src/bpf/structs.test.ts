import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mapNames, programNames } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import { defaultBytecodePath } from "./loader";
import { flowValueLayout, kernelStructs, roundUp8, sockKeyLayout, sumFlowValues } from "./structs";

interface BtfType {
  kind: string;
  name?: string;
  size?: number;
  members?: { name: string; bits_offset: number }[];
}

function objectBtf(): BtfType[] | null {
  const object = defaultBytecodePath();
  if (!existsSync(object)) {
    if (process.env.CI === "true") throw new Error(`${object} missing: run make -C bpf`);
    console.warn(`\n!!! SKIPPING struct layout check: ${object} not built (make -C bpf) !!!\n`);
    return null;
  }
  const json = execFileSync("bpftool", ["-j", "btf", "dump", "file", object], { encoding: "utf8" });
  return (JSON.parse(json) as { types: BtfType[] }).types;
}

const btf = objectBtf();

describe.skipIf(btf === null)("TS mirror of bpf/kernflow.h", () => {
  const types = btf ?? [];
  it.each(Object.entries(kernelStructs))(
    "%s has the size and field offsets of the compiled object",
    (name, layout) => {
      const struct = types.find((t) => t.kind === "STRUCT" && t.name === name);
      expect(struct, `struct ${name} in the object's BTF`).toBeDefined();
      expect(struct?.size).toBe(layout.size);
      const offsets = Object.fromEntries((struct?.members ?? []).map((m) => [m.name, m.bits_offset / 8]));
      expect(offsets).toEqual(layout.fields);
    },
  );

  it("holds every program and map the loader looks up by name", () => {
    const funcs = new Set(types.filter((t) => t.kind === "FUNC").map((t) => t.name));
    const vars = new Set(types.filter((t) => t.kind === "VAR").map((t) => t.name));
    for (const program of Object.values(programNames)) expect(funcs.has(program), program).toBe(true);
    for (const map of Object.values(mapNames)) expect(vars.has(map), map).toBe(true);
  });
});

describe("per-CPU flow values", () => {
  it("sums bytes and packets, keeps the earliest first and latest last stamp, ORs flags, ignores idle CPUs", () => {
    const stride = roundUp8(flowValueLayout.size);
    const b = Buffer.alloc(stride * 3);
    const put = (cpu: number, bytes: number, packets: number, first: number, last: number, flags: number) => {
      const o = cpu * stride;
      b.writeBigUInt64LE(BigInt(bytes), o);
      b.writeBigUInt64LE(BigInt(packets), o + 8);
      b.writeBigUInt64LE(BigInt(first), o + 16);
      b.writeBigUInt64LE(BigInt(last), o + 24);
      b.writeUInt16LE(flags, o + 32);
    };
    put(0, 100, 2, 50, 70, 0x02);
    put(2, 300, 3, 40, 60, 0x10);
    expect(sumFlowValues(b, 3)).toEqual({
      bytes: 400n,
      packets: 5n,
      firstNs: 40n,
      lastNs: 70n,
      tcpFlags: 0x12,
    });
  });

  it("keeps the socket key free of implicit padding", () => {
    expect(sockKeyLayout.size % 4).toBe(0);
  });
});
