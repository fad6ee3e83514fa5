import type { BpfMap } from "../bpf/map";
import { sumOverflow } from "../bpf/structs";

/** Totals since load of traffic the flow map had no room for. */
export function readOverflow(map: BpfMap, cpus: number): { refused: number; packets: number; bytes: number } {
  const raw = map.lookup(Buffer.alloc(4));
  if (!raw) return { refused: 0, packets: 0, bytes: 0 };
  const o = sumOverflow(raw, cpus);
  return { refused: Number(o.refused), packets: Number(o.packets), bytes: Number(o.bytes) };
}
