import type { Db, Tx } from "../db";
import { NotFoundError } from "../errors";

/**
 * What a device captures when no rule names it or its plan: every interface except loopback. Loopback
 * traffic never leaves the host, and counting it would double every local conversation.
 */
export const DEFAULT_CAPTURE_RULE = { include: ["*"], exclude: ["lo"], sampleRate: 1 } as const;

export interface EffectiveCaptureRule {
  include: string[];
  exclude: string[];
  sampleRate: number;
  source: "device" | "plan" | "default";
  ruleId: string | null;
}

/** The rule a device runs: its own device rule if it has one, else its plan's rule, else the default. */
export async function effectiveCaptureRule(db: Db | Tx, deviceId: string): Promise<EffectiveCaptureRule> {
  const device = await db.device.findUnique({ where: { id: deviceId }, select: { id: true, planId: true } });
  if (!device) throw new NotFoundError("Device", deviceId);
  const rules = await db.captureRule.findMany({
    where: {
      OR: [
        { scope: "device", deviceId: device.id },
        { scope: "plan", planId: device.planId },
      ],
    },
    orderBy: { createdAt: "asc" },
  });
  const own = rules.find((r) => r.scope === "device");
  const plan = rules.find((r) => r.scope === "plan");
  const rule = own ?? plan;
  if (!rule) {
    return {
      include: [...DEFAULT_CAPTURE_RULE.include],
      exclude: [...DEFAULT_CAPTURE_RULE.exclude],
      sampleRate: DEFAULT_CAPTURE_RULE.sampleRate,
      source: "default",
      ruleId: null,
    };
  }
  return {
    include: rule.include,
    exclude: rule.exclude,
    sampleRate: rule.sampleRate,
    source: own ? "device" : "plan",
    ruleId: rule.id,
  };
}
