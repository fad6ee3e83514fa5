import { type ConfigChange, onConfigChange } from "./config-bus";

/**
 * Long-polling check-ins waiting for a change to their device's config. Thousands of them share one
 * config-bus listener and are found by device and plan id in maps, so a change wakes only the check-ins it
 * may concern, and an idle wait costs one timer and no database work.
 */
export interface ConfigWaiter {
  /** Resolves when a change touching the device or its plan is announced (never rejects). */
  readonly changed: Promise<void>;
  /** Whether it already fired, e.g. while the caller was still computing the config. */
  readonly fired: boolean;
  cancel(): void;
}

interface Entry {
  deviceId: string;
  planId: string;
  fire: () => void;
}

const byDevice = new Map<string, Set<Entry>>();
const byPlan = new Map<string, Set<Entry>>();
let unsubscribe: (() => void) | null = null;
let waiting = 0;

function add(map: Map<string, Set<Entry>>, key: string, entry: Entry) {
  const set = map.get(key);
  if (set) set.add(entry);
  else map.set(key, new Set([entry]));
}

function remove(map: Map<string, Set<Entry>>, key: string, entry: Entry) {
  const set = map.get(key);
  if (!set) return;
  set.delete(entry);
  if (set.size === 0) map.delete(key);
}

function wake(change: ConfigChange) {
  const hit = new Set<Entry>();
  if (change.all) {
    for (const set of byDevice.values()) for (const entry of set) hit.add(entry);
  } else {
    for (const id of change.deviceIds ?? []) for (const entry of byDevice.get(id) ?? []) hit.add(entry);
    for (const id of change.planIds ?? []) for (const entry of byPlan.get(id) ?? []) hit.add(entry);
  }
  for (const entry of hit) entry.fire();
}

/** Starts listening for changes to this device (or its plan); call before computing the config. */
export function waitForConfigChange(deviceId: string, planId: string): ConfigWaiter {
  let fired = false;
  let resolve!: () => void;
  const changed = new Promise<void>((r) => {
    resolve = r;
  });
  const entry: Entry = {
    deviceId,
    planId,
    fire: () => {
      if (fired) return;
      fired = true;
      detach();
      resolve();
    },
  };
  let attached = true;
  const detach = () => {
    if (!attached) return;
    attached = false;
    remove(byDevice, deviceId, entry);
    remove(byPlan, planId, entry);
    waiting -= 1;
    if (waiting === 0 && unsubscribe) {
      unsubscribe();
      unsubscribe = null;
    }
  };
  add(byDevice, deviceId, entry);
  add(byPlan, planId, entry);
  waiting += 1;
  unsubscribe ??= onConfigChange(wake);
  return {
    changed,
    get fired() {
      return fired;
    },
    cancel: detach,
  };
}

/** How many check-ins are waiting now (for tests and metrics). */
export function waitingCheckIns(): number {
  return waiting;
}
