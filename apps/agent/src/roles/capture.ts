import { setTimeout as sleep } from "node:timers/promises";
import { type FlowRecord, matchesInterface } from "@kernflow/protocol";
import { z } from "zod";
import { type Handle, onLibbpfMessage } from "../bpf/libbpf";
import { loadKernflow } from "../bpf/loader";
import { possibleCpus } from "../bpf/map";
import { destroyLink } from "../bpf/object";
import { type AttachMode, kernelHasTcx, requireTcSupport } from "../bpf/tc";
import { localAddresses } from "../capture/addresses";
import { InterfaceAttachments } from "../capture/attachments";
import { KtimeClock } from "../capture/clock";
import { BpfCallError } from "../capture/errors";
import { diffInterfaces, listInterfaces, type NetInterface } from "../capture/interfaces";
import { readOverflow } from "../capture/overflow";
import { OwnerEndpoints } from "../capture/owners";
import { seedSocketOwners } from "../capture/preexisting";
import { buildRecords } from "../capture/records";
import { SocketTable } from "../capture/sockets";

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

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

/** Captures flows until `signal` aborts: loads the kernflow object, attaches to matching interfaces
 * (and to new ones as they appear), emits each interval's records, and on abort detaches, drains the
 * last interval and unloads everything. */
export async function runCapture(
  opts: CaptureOptions,
  onRecords: (records: FlowRecord[]) => void | Promise<void>,
  signal: AbortSignal,
): Promise<CaptureSummary> {
  const parsed = optionsSchema.safeParse({ ...opts, log: undefined });
  if (!parsed.success) throw new TypeError(`invalid capture options: ${z.prettifyError(parsed.error)}`);
  const { log } = opts;
  const summary: CaptureSummary = {
    intervals: 0,
    records: 0,
    packets: 0,
    bytes: 0,
    attachMode: "tcx",
    interfaces: [],
    tracing: [],
    overflow: { refused: 0, packets: 0, bytes: 0 },
  };

  // libbpf's warnings (verifier log on a failed load, attach problems) belong in the capture's log.
  onLibbpfMessage((level, message) => {
    if (level === "warn") log(message.trimEnd());
  });
  const kf = loadKernflow({
    ...(opts.bytecodePath === undefined ? {} : { bytecodePath: opts.bytecodePath }),
    ...(opts.mapEntries === undefined ? {} : { mapEntries: opts.mapEntries }),
  });
  const links: Handle[] = [];
  let attachments: InterfaceAttachments | undefined;
  const stopPolling = new AbortController();
  let pollLoop: Promise<void> = Promise.resolve();
  try {
    for (const { program, reason } of kf.skippedTracing) log(`${program} not loaded: ${reason}`);
    for (const program of kf.tracing) links.push(kf.object.attachProgram(program));
    summary.tracing = [...kf.tracing];
    // After the tracepoints are live, so that nothing the kernel records is overwritten by /proc's view.
    const seeded = await seedSocketOwners(kf.maps.sockOwners);
    log(`attributed ${seeded} socket(s) that predate this capture`);

    const hasTcx = kernelHasTcx(kf.tcIngressFd);
    const wanted = opts.attachMode ?? "auto";
    if (wanted !== "auto") requireTcSupport(hasTcx, wanted);
    const mode: AttachMode = wanted === "auto" ? (hasTcx ? "tcx" : "clsact") : wanted;
    summary.attachMode = mode;
    const attached = new InterfaceAttachments(mode, kf.tcIngressFd, kf.tcEgressFd, kf.maps.ifaces, log);
    attachments = attached;

    const known = new Map<number, NetInterface>();
    const names = new Map<number, string>();
    let vanished: number[] = [];
    const syncInterfaces = async () => {
      const changes = diffInterfaces(known, await listInterfaces());
      for (const iface of changes.removed) {
        known.delete(iface.ifindex);
        if (attached.has(iface.ifindex)) {
          attached.detach(iface.ifindex);
          log(`interface ${iface.name} is gone`);
          vanished.push(iface.ifindex);
        }
      }
      for (const iface of changes.added) {
        known.set(iface.ifindex, iface);
        if (!matchesInterface(iface.name, opts.include, opts.exclude)) continue;
        try {
          if (!attached.attach(iface)) continue;
        } catch (error) {
          // One interface the kernel refuses (an odd device type) must not stop capture on the others;
          // missing privileges or kernel features still end the capture.
          if (!(error instanceof BpfCallError)) throw error;
          log(`cannot capture on ${iface.name}: ${error.message}`);
          continue;
        }
        names.set(iface.ifindex, iface.name);
        if (!summary.interfaces.includes(iface.name)) summary.interfaces.push(iface.name);
      }
    };
    await syncInterfaces();
    if (attached.size === 0)
      log(`no interface matches ${opts.include.join(",")} yet; waiting for one to appear`);

    const pollMs = opts.interfacePollMs ?? 1_000;
    pollLoop = (async () => {
      while (!stopPolling.signal.aborted) {
        await pause(pollMs, stopPolling.signal);
        if (!stopPolling.signal.aborted) await syncInterfaces();
      }
    })();
    // A failing interface poll must end the capture instead of silently stopping discovery.
    const pollFailed = new AbortController();
    pollLoop.catch(() => pollFailed.abort());

    const clock = new KtimeClock();
    const sockets = new SocketTable(kf.maps.sockOwners, kf.maps.sockStats);
    const owners = new OwnerEndpoints();
    const cpus = possibleCpus();
    const drain = async () => {
      clock.resync();
      sockets.refresh();
      const entries = kf.maps.flows.drain();
      const records = await buildRecords(entries, {
        deviceName: opts.deviceName,
        cpus,
        clock,
        sockets,
        interfaceName: (ifindex) => names.get(ifindex),
        localAddresses: localAddresses(),
        endpointOf: (owner) => owners.endpointOf(owner),
      });
      for (const ifindex of vanished) names.delete(ifindex);
      vanished = [];
      const overflow = readOverflow(kf.maps.overflow, cpus);
      if (overflow.refused > summary.overflow.refused) {
        log(
          `flow map full: ${overflow.packets - summary.overflow.packets} packet(s), ` +
            `${overflow.bytes - summary.overflow.bytes} byte(s) not attributed to a flow; raise mapEntries`,
        );
      }
      summary.overflow = overflow;
      summary.intervals++;
      summary.records += records.length;
      for (const r of records) {
        summary.packets += r.packets;
        summary.bytes += r.bytes;
      }
      if (records.length > 0) await onRecords(records);
    };

    const started = Date.now();
    const either = AbortSignal.any([signal, pollFailed.signal]);
    while (!either.aborted) {
      const next = started + (summary.intervals + 1) * opts.intervalMs;
      await pause(Math.max(0, next - Date.now()), either);
      if (either.aborted) break;
      await drain();
    }
    stopPolling.abort();
    await pollLoop;
    // Detach first, then drain: whatever was counted up to the detach is in this last drain.
    attached.detachAll();
    await drain();
    return summary;
  } finally {
    stopPolling.abort();
    await pollLoop.catch(() => {});
    const errors: unknown[] = [];
    try {
      attachments?.detachAll();
    } catch (error) {
      errors.push(error);
    }
    for (const link of links) {
      try {
        destroyLink(link);
      } catch (error) {
        errors.push(error);
      }
    }
    kf.close();
    if (errors.length > 0) log(`clean-up: ${errors.map((e) => String(e)).join("; ")}`);
  }
}
