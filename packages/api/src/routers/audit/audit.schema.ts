import { z } from "zod";

export const auditListInput = z
  .strictObject({
    limit: z.int().min(1).max(500).default(50),
    cursor: z.string().regex(/^\d+$/, "must be the nextCursor of a previous page").optional(),
    action: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe('Exact action, or a prefix ending in "." such as "plans."'),
    targetType: z.string().min(1).max(100).optional(),
    targetId: z.string().min(1).max(200).optional(),
  })
  // prefault (not default) so an omitted input still goes through parsing and gets limit's default.
  .prefault({});

export const auditEntryOutput = z.object({
  id: z.string(),
  at: z.date(),
  actorId: z.string().nullable(),
  actorLabel: z.string(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string().nullable(),
  details: z.unknown(),
  ip: z.string().nullable(),
});

export const auditListOutput = z.object({
  items: z.array(auditEntryOutput),
  nextCursor: z.string().nullable(),
});
