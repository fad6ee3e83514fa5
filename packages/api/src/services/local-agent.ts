import { hostname } from "node:os";
import type { Db } from "../db";
import { createEnrollmentToken } from "./enrollment-tokens";
import { createPlan, listPlans } from "./plans";

const LOCAL_PLAN = "local";
const TOKEN_LIFETIME_MS = 10 * 60_000;
const actor = { userId: null, label: "quick start (local agent)", ip: null };

/**
 * The quick start enrolls the console's own host: a single-use, short-lived token for this host name in the
 * `local` plan (created on first use). The agent still enrolls through the agent protocol like any other.
 */
export async function createLocalEnrollmentToken(db: Db, consoleUrl: string): Promise<string> {
  const plans = await listPlans(db);
  const plan =
    plans.find((p) => p.name === LOCAL_PLAN) ??
    (await createPlan(db, actor, {
      name: LOCAL_PLAN,
      description: "The console's own host (quick start)",
      maxDevices: 10,
      maxFlowsPerSecond: 50_000,
      retentionDays: 7,
    }));
  const { secret } = await createEnrollmentToken(
    db,
    actor,
    {
      name: `local agent ${new Date().toISOString()}`,
      planId: plan.id,
      deviceName: hostname(),
      expiresAt: new Date(Date.now() + TOKEN_LIFETIME_MS),
      maxUses: 1,
    },
    consoleUrl,
  );
  return secret;
}
