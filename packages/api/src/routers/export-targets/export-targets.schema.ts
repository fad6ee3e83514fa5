import { z } from "zod";

const name = z.string().trim().min(1, "must not be empty").max(100);
const kind = z.enum(["ipfix_udp", "ipfix_tcp", "nats"], {
  error: (issue) => `must be ipfix_udp, ipfix_tcp or nats, got "${String(issue.input)}"`,
});
// The URL's form is checked against the kind by the service (parseTargetUrl), which names the fault.
const url = z.string().trim().min(1, "must not be empty").max(2048);
const planId = z.uuid().nullable();
const enterpriseId = z
  .int()
  .min(1, "must be a private enterprise number between 1 and 4294967295")
  .max(4294967295, "must be a private enterprise number between 1 and 4294967295")
  .nullable();

export const exportTargetCreateInput = z.strictObject({
  name,
  kind,
  url,
  enabled: z.boolean().default(true),
  planId: planId.default(null),
  enterpriseId: enterpriseId.default(null),
});

export const exportTargetUpdateInput = z.strictObject({
  id: z.uuid(),
  name: name.optional(),
  kind: kind.optional(),
  url: url.optional(),
  enabled: z.boolean().optional(),
  planId: planId.optional(),
  enterpriseId: enterpriseId.optional(),
});

export const exportTargetOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  kind: z.enum(["ipfix_udp", "ipfix_tcp", "nats"]),
  url: z.string(),
  enabled: z.boolean(),
  planId: z.uuid().nullable(),
  planName: z.string().nullable(),
  enterpriseId: z.int().nullable(),
  recordsSent: z.number().int().nonnegative(),
  lastError: z.string().nullable(),
  lastErrorAt: z.date().nullable(),
  lastSuccessAt: z.date().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
});

export const exportTargetTestOutput = z.object({
  ok: z.boolean(),
  error: z.string().nullable(),
  target: exportTargetOutput,
});
