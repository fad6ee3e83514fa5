import type { FlowRecord } from "@kernflow/protocol";
import { z } from "zod";
import type { AttachMode } from "../bpf/tc";
import { DrainLoop } from "../capture/drain-loop";
import { CaptureEngine } from "../capture/engine";

export interface CaptureOptions {
  include: string[];
  exclude: string[];
  intervalMs: number;
  bytecodePath?: string;
  deviceName: string;
  mapEntries?: number;
  log: (msg: string) => void;
  /** tc attachment: tcx links (kernel 6.6+) unless the kernel lacks them or clsact is asked for. */
  attachMode?: "auto" | AttachMode;
  /** How often /sys/class/net is re-read for interfaces that appeared or vanished. */
  interfacePollMs?: number;
}

export interface CaptureSummary {
  intervals: number;
  records: number;
  packets: number;
  bytes: number;
  attachMode: AttachMode;
  interfaces: string[];
  tracing: string[];
  /** Traffic the kernel counted here, not in a flow, because the flow map was full (raise mapEntries). */
  overflow: { refused: number; packets: number; bytes: number };
}

const optionsSchema = z.object({
  include: z.array(z.string().min(1)).min(1, "at least one interface pattern is needed"),
  exclude: z.array(z.string().min(1)),
  intervalMs: z.number().int().min(100, "interval must be at least 100 ms"),
  bytecodePath: z.string().min(1).optional(),
  deviceName: z.string().min(1),
  mapEntries: z.number().int().min(1).max(16_777_216).optional(),
  attachMode: z.enum(["auto", "tcx", "clsact"]).optional(),
  interfacePollMs: z.number().int().min(50).optional(),
});

/** Standalone capture until `signal` aborts: loads the kernflow object, attaches to matching interfaces
 * (and to new ones as they appear), emits each interval's records, and on abort detaches, drains the
 * last interval and unloads everything. Connected mode drives the same engine and reconfigures it. */
export async function runCapture(
  opts: CaptureOptions,
  onRecords: (records: FlowRecord[]) => void | Promise<void>,
  signal: AbortSignal,
): Promise<CaptureSummary> {
  const parsed = optionsSchema.safeParse({ ...opts, log: undefined });
  if (!parsed.success) throw new TypeError(`invalid capture options: ${z.prettifyError(parsed.error)}`);
  const engine = await CaptureEngine.start(
    { include: opts.include, exclude: opts.exclude },
    { kind: "file", ...(opts.bytecodePath === undefined ? {} : { path: opts.bytecodePath }) },
    {
      deviceName: opts.deviceName,
      log: opts.log,
      ...(opts.mapEntries === undefined ? {} : { mapEntries: opts.mapEntries }),
      ...(opts.attachMode === undefined ? {} : { attachMode: opts.attachMode }),
    },
  );
  if (engine.interfacesAttached.length === 0)
    opts.log(`no interface matches ${opts.include.join(",")} yet; waiting for one to appear`);
  const loop = new DrainLoop(engine, opts.intervalMs, onRecords, opts.interfacePollMs ?? 1_000);
  const totals = await loop.run(signal);
  return {
    intervals: totals.intervals,
    records: totals.records,
    packets: totals.packets,
    bytes: totals.bytes,
    attachMode: engine.attachMode,
    interfaces: [...engine.everAttached],
    tracing: engine.tracing,
    overflow: { ...engine.overflow },
  };
}
