import { FLOW_DESTINATION_FORMS, flowDestinationFromUrl } from "@kernflow/protocol";
import { z } from "zod";

const name = z.string().trim().min(1, "must not be empty").max(100);
const description = z.string().max(2000);
// Limits are positive PostgreSQL int4 values.
const maxDevices = z.int().min(1, "must be at least 1").max(1_000_000);
const maxFlowsPerSecond = z.int().min(1, "must be at least 1").max(2_000_000_000);
// Stored as the operator wrote it (trimmed); empty means the console, stored as null.
const flowDestination = z
  .string()
  .trim()
  .max(2048)
  .nullable()
  .transform((text) => (text === null || text === "" ? null : text))
  .refine(
    (url) => {
      try {
        flowDestinationFromUrl(url);
        return true;
      } catch {
        return false;
      }
    },
    { message: `must be ${FLOW_DESTINATION_FORMS}` },
  );
const retentionDays = z.int().min(1, "must be between 1 and 3650").max(3650, "must be between 1 and 3650");

export const planCreateInput = z.strictObject({
  name,
  description: description.default(""),
  maxDevices,
  maxFlowsPerSecond,
  retentionDays,
  flowDestination: flowDestination.default(null),
});

export const planUpdateInput = z.strictObject({
  id: z.uuid(),
  name: name.optional(),
  description: description.optional(),
  maxDevices: maxDevices.optional(),
  maxFlowsPerSecond: maxFlowsPerSecond.optional(),
  retentionDays: retentionDays.optional(),
  flowDestination: flowDestination.optional(),
});

export const planOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  maxDevices: z.int(),
  maxFlowsPerSecond: z.int(),
  retentionDays: z.int(),
  flowDestination: z.string().nullable(),
  deviceCount: z.int(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
