import type { BpfMap } from "../bpf/map";
import { sumOverflow } from "../bpf/structs";

/** Totals since load of traffic the flow map had no room for. */
export function readOverflow(map: BpfMap, cpus: number): { flows: number; packets: number; bytes: number } {
  const raw = map.lookup(Buffer.alloc(4));
  if (!raw) return { flows: 0, packets: 0, bytes: 0 };
  const o = sumOverflow(raw, cpus);
  return { flows: Number(o.flows), packets: Number(o.packets), bytes: Number(o.bytes) };
}
