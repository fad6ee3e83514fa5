import { z } from "zod";

export const apiTokenCreateInput = z.strictObject({
  name: z.string().trim().min(1, "must not be empty").max(100),
});

export const apiTokenOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.date(),
  lastUsedAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
});

export const apiTokenCreateOutput = z.object({
  token: apiTokenOutput,
  secret: z.string().describe("The token itself; shown only in this response"),
});
