import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { mapNames, programNames, type TracingProgramName, tracepointOf } from "@kernflow/protocol";
import { BytecodeError } from "../capture/errors";
import { KernelBtf } from "./kernel-btf";
import type { BpfMap } from "./map";
import { BpfObject } from "./object";
import {
  flowKeyLayout,
  flowValueLayout,
  ifaceLayout,
  overflowLayout,
  sockKeyLayout,
  sockOwnerLayout,
  sockStateLayout,
  sockStatsLayout,
} from "./structs";

/** bpf/build/kernflow.bpf.o of this checkout (made by `make -C bpf`, part of `npm run setup`). */
export function defaultBytecodePath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "../../../../bpf/build/kernflow.bpf.o");
}

export interface LoadOptions {
  bytecodePath?: string;
  bytecode?: Buffer;
  /** Capacity of the flow, socket owner and socket stats maps. */
  mapEntries?: number;
}

export interface KernflowMaps {
  flows: BpfMap;
  overflow: BpfMap;
  ifaces: BpfMap;
  sockOwners: BpfMap;
  sockStats: BpfMap;
}

/** The kernflow object loaded into the kernel: program fds to attach and maps to drain. */
export interface LoadedKernflow {
  object: BpfObject;
  maps: KernflowMaps;
  tcIngressFd: number;
  tcEgressFd: number;
  /** Tracing programs loaded (the kernel has their tracepoints) and those left out, with why. */
  tracing: TracingProgramName[];
  skippedTracing: { program: TracingProgramName; reason: string }[];
  close(): void;
}

export const defaultMapEntries = 16_384;

/** Chooses the tracing programs this kernel can load: each needs its BTF tracepoint, and of the two
 * tcp_retransmit_skb variants only the one matching the tracepoint's argument count. */
export function chooseTracingPrograms(btf: Pick<KernelBtf, "tracepointArgs">): {
  load: TracingProgramName[];
  skip: { program: TracingProgramName; reason: string }[];
} {
  const load: TracingProgramName[] = [];
  const skip: { program: TracingProgramName; reason: string }[] = [];
  for (const [program, tracepoint] of Object.entries(tracepointOf) as [TracingProgramName, string][]) {
    const args = btf.tracepointArgs(tracepoint);
    if (args === undefined) {
      skip.push({ program, reason: `kernel has no BTF tracepoint ${tracepoint}` });
    } else if (program === programNames.tcpRetransmit && args !== 2) {
      skip.push({ program, reason: `${tracepoint} has ${args} arguments, the err variant is used` });
    } else if (program === programNames.tcpRetransmitErr && args < 3) {
      skip.push({ program, reason: `${tracepoint} has no err argument on this kernel` });
    } else {
      load.push(program);
    }
  }
  return { load, skip };
}

export function loadKernflow(options: LoadOptions = {}): LoadedKernflow {
  const entries = options.mapEntries ?? defaultMapEntries;
  if (!Number.isInteger(entries) || entries < 1)
    throw new RangeError(`mapEntries must be a positive integer`);
  let object: BpfObject;
  if (options.bytecode) {
    object = BpfObject.openMemory(options.bytecode, "downloaded bytecode");
  } else {
    const path = options.bytecodePath ?? defaultBytecodePath();
    if (!existsSync(path)) {
      throw new BytecodeError(
        `BPF object ${path} not found${options.bytecodePath ? "" : " (run: make -C bpf)"}`,
      );
    }
    object = BpfObject.openFile(path);
  }
  try {
    const btf = KernelBtf.load();
    let choice: ReturnType<typeof chooseTracingPrograms>;
    try {
      choice = chooseTracingPrograms(btf);
    } finally {
      btf.close();
    }
    for (const { program } of choice.skip) object.setAutoload(program, false);
    for (const name of [mapNames.flows, mapNames.sockOwners, mapNames.sockStats])
      object.setMaxEntries(name, entries);
    object.load();
    const maps: KernflowMaps = {
      flows: object.map(mapNames.flows, flowKeyLayout.size, flowValueLayout.size, true),
      overflow: object.map(mapNames.overflow, 4, overflowLayout.size, true),
      ifaces: object.map(mapNames.ifaces, 4, ifaceLayout.size),
      sockOwners: object.map(mapNames.sockOwners, sockKeyLayout.size, sockOwnerLayout.size),
      sockStats: object.map(mapNames.sockStats, sockKeyLayout.size, sockStatsLayout.size),
    };
    // Touch the private state map so a bytecode without it fails here, not mid-capture.
    object.map(mapNames.sockStates, 8, sockStateLayout.size);
    return {
      object,
      maps,
      tcIngressFd: object.programFd(programNames.tcIngress),
      tcEgressFd: object.programFd(programNames.tcEgress),
      tracing: choice.load,
      skippedTracing: choice.skip,
      close: () => object.close(),
    };
  } catch (error) {
    object.close();
    throw error;
  }
}
