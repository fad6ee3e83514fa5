import { z } from "zod";

const deviceName = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(100)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    "may contain letters, digits, '.', '_' and '-' and must start with a letter or digit",
  );

export const deviceListInput = z.strictObject({ planId: z.uuid().optional() }).optional();
export const deviceRenameInput = z.strictObject({ id: z.uuid(), name: deviceName });
export const deviceMoveInput = z.strictObject({ id: z.uuid(), planId: z.uuid() });

export const deviceOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  planId: z.uuid(),
  planName: z.string(),
  status: z.enum(["pending", "online", "offline", "degraded"]),
  machineId: z.string().nullable(),
  hostname: z.string().nullable(),
  os: z.string().nullable(),
  kernelRelease: z.string().nullable(),
  agentVersion: z.string().nullable(),
  lastSeenAt: z.date().nullable(),
  createdAt: z.date(),
  configHashApplied: z.string().nullable(),
  bytecode: z.object({ id: z.uuid(), name: z.string(), sha256: z.string() }).nullable(),
  health: z.enum(["starting", "ok", "degraded"]).nullable(),
  captureRule: z.object({
    include: z.array(z.string()),
    exclude: z.array(z.string()),
    source: z.enum(["device", "plan", "default"]),
  }),
  interfacesSeen: z.array(z.string()),
  interfacesAttached: z.array(z.string()),
  interfacesMatched: z.array(z.string()).describe("Interfaces seen that the effective capture rule selects"),
  flowsPerSecond: z.number().nullable(),
  mapOverflow: z.number().nullable(),
  recordsSpooled: z.number().nullable(),
  errors: z.array(z.object({ at: z.string(), kind: z.string(), message: z.string() })),
});
