import { InvalidGlobError, validateGlobs } from "@kernflow/protocol";
import { z } from "zod";

const MAX_PATTERNS = 32;
const MAX_PATTERN_LENGTH = 64;

/**
 * One interface glob. Only characters of interface names and the glob set (`*`, `?`, `[...]` with `!`
 * and `-`) pass; anything regex-like (`(`, `|`, `+`, `\`, `$`, `{`) is refused, so no user regular
 * expression ever reaches the server or the agent.
 */
const glob = z
  .string()
  .trim()
  .min(1, "a pattern must not be empty")
  .max(MAX_PATTERN_LENGTH, `a pattern is at most ${MAX_PATTERN_LENGTH} characters`)
  .regex(
    /^[A-Za-z0-9._*?[\]!-]+$/,
    "only interface-name characters and the glob wildcards * ? [ ] are allowed (no regular expressions)",
  )
  .superRefine((pattern, ctx) => {
    try {
      validateGlobs([pattern]);
    } catch (error) {
      if (!(error instanceof InvalidGlobError)) throw error;
      ctx.addIssue({ code: "custom", message: error.message });
    }
  });

const includeList = z
  .array(glob)
  .min(1, "at least one include pattern is needed")
  .max(MAX_PATTERNS, `at most ${MAX_PATTERNS} patterns`);
const excludeList = z.array(glob).max(MAX_PATTERNS, `at most ${MAX_PATTERNS} patterns`);
const name = z.string().trim().min(1, "must not be empty").max(100);
// 1 = every packet; the agent samples 1 in N. int4 range with room to spare.
const sampleRate = z.int().min(1, "must be at least 1").max(1_000_000);

const planTarget = { scope: z.literal("plan"), planId: z.uuid() };
const deviceTarget = { scope: z.literal("device"), deviceId: z.uuid() };

const ruleFields = {
  name,
  include: includeList,
  exclude: excludeList.default([]),
  sampleRate: sampleRate.default(1),
};

export const captureRuleCreateInput = z.discriminatedUnion("scope", [
  z.strictObject({ ...planTarget, ...ruleFields }),
  z.strictObject({ ...deviceTarget, ...ruleFields }),
]);

export const captureRuleUpdateInput = z.strictObject({
  id: z.uuid(),
  name: name.optional(),
  include: includeList.optional(),
  exclude: excludeList.optional(),
  sampleRate: sampleRate.optional(),
});

export const captureRuleListInput = z
  .strictObject({ planId: z.uuid().optional(), deviceId: z.uuid().optional() })
  .default({});

/** A saved rule by id, or a draft (not saved) with its target and globs, e.g. from the form as you type. */
const draftFields = { include: includeList, exclude: excludeList.default([]), ruleId: z.uuid().optional() };

/** A saved rule by id, or a draft (not saved) with its target and globs, e.g. from the form as you type. */
export const captureRulePreviewInput = z.union([
  z.strictObject({ id: z.uuid() }),
  z.strictObject({ ...planTarget, ...draftFields }),
  z.strictObject({ ...deviceTarget, ...draftFields }),
]);

export const captureRuleOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  scope: z.enum(["plan", "device"]),
  planId: z.uuid().nullable(),
  planName: z.string().nullable(),
  deviceId: z.uuid().nullable(),
  deviceName: z.string().nullable(),
  include: z.array(z.string()),
  exclude: z.array(z.string()),
  sampleRate: z.int(),
  createdAt: z.date(),
  updatedAt: z.date(),
});

export const devicePreviewOutput = z.object({
  deviceId: z.uuid(),
  deviceName: z.string(),
  interfacesSeen: z.array(z.string()).nullable(),
  matched: z.array(z.string()),
  overriddenBy: z.string().nullable(),
  summary: z.string(),
});
