import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultBytecodePath, type LoadedKernflow, loadKernflow } from "../src/bpf/loader";
import { possibleCpus } from "../src/bpf/map";
import { flowKeyLayout, flowValueLayout, roundUp8, sumFlowValues } from "../src/bpf/structs";
import { BytecodeError } from "../src/capture/errors";
import { kernelTestsUnavailable } from "./capture-harness";

const unavailable = kernelTestsUnavailable();

describe.skipIf(unavailable !== null)("kernflow maps in the kernel", () => {
  let kf: LoadedKernflow;

  beforeAll(() => {
    // From memory, as bytecode downloaded from the console is loaded.
    kf = loadKernflow({ bytecode: readFileSync(defaultBytecodePath()), mapEntries: 512 });
  });
  afterAll(() => kf?.close());

  function fillFlows(count: number): void {
    const cpus = possibleCpus();
    const stride = roundUp8(flowValueLayout.size);
    for (let i = 0; i < count; i++) {
      const key = Buffer.alloc(flowKeyLayout.size);
      key.writeUInt16LE(i, flowKeyLayout.fields.src_port);
      key.writeUInt32LE(7, flowKeyLayout.fields.ifindex);
      const value = Buffer.alloc(stride * cpus);
      for (let cpu = 0; cpu < cpus; cpu++) {
        value.writeBigUInt64LE(BigInt(i + 1), cpu * stride); // bytes
        value.writeBigUInt64LE(1n, cpu * stride + 8); // packets
        value.writeBigUInt64LE(BigInt(100 + cpu), cpu * stride + 16); // first_ns
        value.writeBigUInt64LE(BigInt(200 + cpu), cpu * stride + 24); // last_ns
      }
      kf.maps.flows.update(key, value);
    }
  }

  it.each([
    ["one batch syscall per few thousand entries", true],
    ["the key-by-key fallback", false],
  ])("drains a per-CPU flow map completely with %s", (_name, batch) => {
    const cpus = possibleCpus();
    fillFlows(300);
    const drained = kf.maps.flows.drain({ batch, batchSize: 64 });
    expect(drained).toHaveLength(300);
    const ports = new Set<number>();
    for (const { key, value } of drained) {
      const port = key.readUInt16LE(flowKeyLayout.fields.src_port);
      ports.add(port);
      expect(sumFlowValues(value, cpus)).toEqual({
        bytes: BigInt((port + 1) * cpus),
        packets: BigInt(cpus),
        firstNs: 100n,
        lastNs: BigInt(200 + cpus - 1),
        tcpFlags: 0,
      });
    }
    expect(ports.size).toBe(300);
    expect(kf.maps.flows.keys()).toEqual([]);
  });

  it("sizes the flow map as asked: inserts beyond mapEntries are refused", () => {
    fillFlows(512);
    expect(() => fillFlows(513)).toThrow(/E2BIG/);
    expect(kf.maps.flows.drain()).toHaveLength(512);
  });

  it("refuses a file that is not a BPF object with a BytecodeError", () => {
    const dir = mkdtempSync(join(tmpdir(), "kf-bytecode-"));
    try {
      const path = join(dir, "not-bpf.o");
      writeFileSync(path, "definitely not ELF");
      expect(() => loadKernflow({ bytecodePath: path })).toThrow(BytecodeError);
      expect(() => loadKernflow({ bytecodePath: join(dir, "missing.o") })).toThrow(/not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
