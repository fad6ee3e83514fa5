import type { Db } from "../db";
import { AuthenticationError } from "../errors";
import { DEFAULT_CAPTURE_RULE } from "../services/capture-rules";
import {
  buildDesiredConfig,
  type DesiredConfigWithHash,
  sharedBytecodeFor,
  sharedFlowDestinationFor,
  sharedSinksFor,
} from "./desired-config";

export interface DeviceConfig {
  device: { id: string; name: string; planId: string; kernelRelease: string | null };
  desired: DesiredConfigWithHash;
}

/** Larger batches are split, keeping each IN (...) list and its result set moderate. */
const MAX_BATCH = 1000;

interface Pending {
  ids: Map<string, Array<{ resolve: (value: DeviceConfig) => void; reject: (error: unknown) => void }>>;
}

const pendingByDb = new WeakMap<Db, Pending>();

/**
 * The device (as it is now: a move changes its plan, a delete unenrolls it) and its desired config.
 * Requests made in the same turn of the event loop are answered together with two queries (devices,
 * capture rules) plus the shared bytecode and sinks: when a plan-wide change wakes thousands of waiting
 * check-ins at once, the database sees a handful of queries, not thousands. Precedence is that of
 * `effectiveCaptureRule` (services/capture-rules.ts): the device's rule, else its plan's, else the default.
 * A device that no longer exists is refused like an unknown credential (401).
 */
export function loadDeviceConfig(db: Db, deviceId: string): Promise<DeviceConfig> {
  return new Promise((resolve, reject) => {
    let pending = pendingByDb.get(db);
    if (!pending) {
      const batch: Pending = { ids: new Map() };
      pending = batch;
      pendingByDb.set(db, batch);
      setImmediate(() => {
        pendingByDb.delete(db);
        void flush(db, batch);
      });
    }
    const waiting = pending.ids.get(deviceId);
    if (waiting) waiting.push({ resolve, reject });
    else pending.ids.set(deviceId, [{ resolve, reject }]);
  });
}

async function flush(db: Db, batch: Pending): Promise<void> {
  const ids = [...batch.ids.keys()];
  for (let start = 0; start < ids.length; start += MAX_BATCH) {
    const slice = ids.slice(start, start + MAX_BATCH);
    try {
      const results = await loadMany(db, slice);
      for (const id of slice) {
        const result = results.get(id);
        for (const waiter of batch.ids.get(id) ?? []) {
          if (result) waiter.resolve(result);
          else
            waiter.reject(new AuthenticationError("This device was deleted from the console; enroll again"));
        }
      }
    } catch (error) {
      for (const id of slice) for (const waiter of batch.ids.get(id) ?? []) waiter.reject(error);
    }
  }
}

async function loadMany(db: Db, ids: string[]): Promise<Map<string, DeviceConfig>> {
  const devices = await db.device.findMany({
    where: { id: { in: ids } },
    select: { id: true, name: true, planId: true, kernelRelease: true },
  });
  const planIds = [...new Set(devices.map((d) => d.planId))];
  const rules = await db.captureRule.findMany({
    where: {
      OR: [
        { scope: "device", deviceId: { in: ids } },
        { scope: "plan", planId: { in: planIds } },
      ],
    },
    select: { scope: true, deviceId: true, planId: true, include: true, exclude: true, sampleRate: true },
    orderBy: { createdAt: "asc" },
  });
  // The oldest rule of each target wins, as in effectiveCaptureRule.
  const byDevice = new Map<string, (typeof rules)[number]>();
  const byPlan = new Map<string, (typeof rules)[number]>();
  for (const rule of rules) {
    if (rule.scope === "device" && rule.deviceId && !byDevice.has(rule.deviceId))
      byDevice.set(rule.deviceId, rule);
    if (rule.scope === "plan" && rule.planId && !byPlan.has(rule.planId)) byPlan.set(rule.planId, rule);
  }
  const out = new Map<string, DeviceConfig>();
  await Promise.all(
    devices.map(async (device) => {
      const found = byDevice.get(device.id) ?? byPlan.get(device.planId);
      const rule = found ?? {
        include: [...DEFAULT_CAPTURE_RULE.include],
        exclude: [...DEFAULT_CAPTURE_RULE.exclude],
        sampleRate: DEFAULT_CAPTURE_RULE.sampleRate,
      };
      const [bytecode, sinks, flowDestination] = await Promise.all([
        sharedBytecodeFor(db, device.kernelRelease),
        sharedSinksFor(db, device.planId),
        sharedFlowDestinationFor(db, device.planId),
      ]);
      out.set(device.id, { device, desired: buildDesiredConfig({ rule, bytecode, sinks, flowDestination }) });
    }),
  );
  return out;
}
