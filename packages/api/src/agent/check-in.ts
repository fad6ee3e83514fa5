import type { CheckInRequest, CheckInResponse } from "@kernflow/protocol";
import type { Db } from "../db";
import { type DeviceConfig, loadDeviceConfig } from "./config-loader";
import { waitForConfigChange } from "./config-waiters";
import type { AuthenticatedDevice } from "./credentials";
import { canonicalJson, type DesiredConfigWithHash } from "./desired-config";

/** A report equal to the last one stored is not written again for this long (lastSeenAt may lag by it). */
const UNCHANGED_REPORT_WRITE_MS = 10_000;
const lastRecorded = new Map<string, { at: number; digest: string }>();

/**
 * Stores what the agent reports: host facts, status, the config and bytecode it runs, when it was seen.
 * An agent re-polls at once after every answer, so after a fleet-wide change thousands of identical reports
 * arrive together; those seen within {@link UNCHANGED_REPORT_WRITE_MS} are not written again. The online
 * window (75 s) is far longer, so status is unaffected.
 */
async function recordCheckIn(db: Db, device: AuthenticatedDevice, body: CheckInRequest) {
  const { host, status } = body;
  const digest = canonicalJson(body.host) + canonicalJson(body.status);
  const now = Date.now();
  const last = lastRecorded.get(device.id);
  if (last && last.digest === digest && now - last.at < UNCHANGED_REPORT_WRITE_MS) return;
  const bytecode = status.bytecode_sha256
    ? await db.bytecode.findUnique({ where: { sha256: status.bytecode_sha256 }, select: { id: true } })
    : null;
  await db.device.update({
    where: { id: device.id },
    data: {
      lastSeenAt: new Date(),
      hostname: host.hostname,
      kernelRelease: host.kernel_release,
      os: host.os,
      agentVersion: host.agent_version,
      configHashApplied: status.config_hash_applied,
      statusReport: status,
      // The agent's own built-in object has no row: then no bytecode is recorded.
      bytecodeId: bytecode?.id ?? null,
      status: status.health === "degraded" || status.errors.length > 0 ? "degraded" : "online",
    },
  });
  lastRecorded.set(device.id, { at: now, digest });
}

function answer(
  device: { id: string; name: string },
  desired: DesiredConfigWithHash,
  applied: string | null,
): CheckInResponse {
  return {
    device: { id: device.id, name: device.name },
    config: desired.config,
    config_hash: desired.hash,
    changed: desired.hash !== applied,
  };
}

/**
 * A check-in: records the report, then answers at once if the desired config differs from what the agent
 * applied (or `wait_ms` is 0); otherwise holds the request until an announced change moves the hash, the
 * wait ends, or the agent hangs up.
 */
export async function checkIn(
  db: Db,
  authenticated: AuthenticatedDevice,
  body: CheckInRequest,
  signal?: AbortSignal,
): Promise<CheckInResponse> {
  await recordCheckIn(db, authenticated, body);
  const applied = body.status.config_hash_applied;
  const deadline = Date.now() + body.wait_ms;
  let planId = authenticated.planId;
  for (;;) {
    // Listening starts before the config is computed, so a change committed meanwhile is not missed.
    const waiter = waitForConfigChange(authenticated.id, planId);
    let loaded: DeviceConfig;
    try {
      loaded = await loadDeviceConfig(db, authenticated.id);
    } catch (error) {
      waiter.cancel();
      throw error;
    }
    const { device, desired } = loaded;
    const remaining = deadline - Date.now();
    if (desired.hash !== applied || remaining <= 0 || signal?.aborted) {
      waiter.cancel();
      return answer(device, desired, applied);
    }
    if (device.planId !== planId) {
      // Moved while this was computed: listen for its new plan's changes instead.
      waiter.cancel();
      planId = device.planId;
      continue;
    }
    if (!waiter.fired) {
      const outcome = await waitUntil(waiter.changed, remaining, signal);
      if (outcome !== "changed") {
        waiter.cancel();
        return answer(device, desired, applied);
      }
    }
  }
}

function waitUntil(
  changed: Promise<void>,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<"changed" | "timeout" | "aborted"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish("timeout"), ms);
    const onAbort = () => finish("aborted");
    signal?.addEventListener("abort", onAbort, { once: true });
    void changed.then(() => finish("changed"));
    function finish(outcome: "changed" | "timeout" | "aborted") {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(outcome);
    }
  });
}
