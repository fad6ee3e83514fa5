import type { CheckInRequest, CheckInResponse } from "@kernflow/protocol";
import type { Db } from "../db";
import { sha256Hex } from "../services/secrets";
import { type DeviceConfig, loadDeviceConfig } from "./config-loader";
import { waitForConfigChange } from "./config-waiters";
import { unknownCredentialError } from "./credentials";
import { canonicalJson, type DesiredConfigWithHash, sharedBytecodeIdFor } from "./desired-config";

/**
 * A report equal to the last one stored is not written again for this long, so lastSeenAt may lag by it:
 * an agent checks in at least every 30 s, so the apparent age stays under 50 s, inside the 75 s window.
 */
const UNCHANGED_REPORT_WRITE_MS = 20_000;

/** Long waits end up to this fraction early, at random (the protocol's wait is "up to" wait_ms). */
const WAIT_JITTER = 0.2;
const JITTER_FROM_MS = 10_000;

/**
 * A fleet that starts together (a console restart, a change that woke everyone) would otherwise time out
 * together every 30 s and re-poll in one burst; ending each long wait a random bit early spreads them out.
 */
function holdFor(waitMs: number): number {
  return waitMs >= JITTER_FROM_MS ? waitMs * (1 - WAIT_JITTER * Math.random()) : waitMs;
}
const lastRecorded = new Map<string, { at: number; digest: string }>();

/**
 * Stores what the agent reports (host facts, status, the config and bytecode it runs, when it was seen) in
 * the same statement that authenticates it: an update by credential hash, which finds no row for a rotated
 * credential or a deleted device (401). An agent re-polls at once after every answer, so after a
 * fleet-wide change thousands of identical reports arrive together; one seen within
 * {@link UNCHANGED_REPORT_WRITE_MS} is not written again (only authenticated). The online window (75 s) is
 * far longer, so status is unaffected.
 */
async function recordCheckIn(
  db: Db,
  credential: string,
  body: CheckInRequest,
): Promise<{ id: string; planId: string }> {
  const { host, status } = body;
  const credentialHash = sha256Hex(credential);
  const digest = canonicalJson(body.host) + canonicalJson(body.status);
  const now = Date.now();
  const last = lastRecorded.get(credentialHash);
  const select = { id: true, planId: true } as const;
  if (last && last.digest === digest && now - last.at < UNCHANGED_REPORT_WRITE_MS) {
    const device = await db.device.findUnique({ where: { credentialHash }, select });
    if (!device) throw unknownCredentialError();
    return device;
  }
  // The agent's own built-in object has no row: then no bytecode is recorded.
  const bytecodeId = status.bytecode_sha256 ? await sharedBytecodeIdFor(db, status.bytecode_sha256) : null;
  try {
    const device = await db.device.update({
      where: { credentialHash },
      data: {
        lastSeenAt: new Date(now),
        hostname: host.hostname,
        kernelRelease: host.kernel_release,
        os: host.os,
        agentVersion: host.agent_version,
        configHashApplied: status.config_hash_applied,
        statusReport: status,
        bytecodeId,
        status: status.health === "degraded" || status.errors.length > 0 ? "degraded" : "online",
      },
      select,
    });
    lastRecorded.set(credentialHash, { at: now, digest });
    return device;
  } catch (error) {
    // P2025: no row has this credential hash.
    if ((error as { code?: unknown }).code === "P2025") throw unknownCredentialError();
    throw error;
  }
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
  credential: string,
  body: CheckInRequest,
  signal?: AbortSignal,
): Promise<CheckInResponse> {
  const authenticated = await recordCheckIn(db, credential, body);
  const applied = body.status.config_hash_applied;
  const deadline = Date.now() + holdFor(body.wait_ms);
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
