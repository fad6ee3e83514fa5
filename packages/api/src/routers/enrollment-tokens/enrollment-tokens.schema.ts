import { z } from "zod";

// Device names end up as flow-record `device` values and in URLs: keep them plain.
const deviceNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const deviceName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(
    deviceNamePattern,
    "may contain letters, digits, '.', '_' and '-' and must start with a letter or digit",
  );

export const enrollmentTokenCreateInput = z.strictObject({
  name: z.string().trim().min(1, "must not be empty").max(100),
  planId: z.uuid(),
  /** One host gets exactly this device name. */
  deviceName: deviceName.optional(),
  /** Many hosts: each device is named prefix + hostname. */
  namePrefix: z
    .string()
    .trim()
    .min(1)
    .max(50)
    .regex(/^[A-Za-z0-9._-]+$/, "may contain letters, digits, '.', '_' and '-'")
    .optional(),
  expiresInHours: z
    .int()
    .min(1, "must be at least 1")
    .max(24 * 365, "must be at most a year (8760)"),
  maxUses: z.int().min(1, "must be at least 1").max(100_000),
  /** The console URL agents will reach; defaults to the URL this request came in on. */
  serverUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
});

export const enrollmentTokenOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  planId: z.uuid(),
  planName: z.string(),
  deviceName: z.string().nullable(),
  namePrefix: z.string().nullable(),
  expiresAt: z.date(),
  maxUses: z.int(),
  uses: z.int(),
  lastUsedAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
  createdAt: z.date(),
  state: z.enum(["active", "expired", "used_up", "revoked"]),
});

export const enrollmentTokenCreateOutput = z.object({
  token: enrollmentTokenOutput,
  secret: z.string().describe("The enrollment token itself; shown only in this response"),
  commands: z.object({
    host: z.string().describe("Enroll and run the agent on a host"),
    kubernetesSecret: z.string().describe("Create the Secret the DaemonSet reads"),
    kustomizeFile: z.string().describe("Or write the file deploy/kubernetes's secretGenerator reads"),
  }),
});
