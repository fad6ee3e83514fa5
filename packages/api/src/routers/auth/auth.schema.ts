import { z } from "zod";
import { email, roleSchema } from "../../validation";

// No length rule on the password here: a login must not reveal the password policy of the day.
export const loginInput = z.strictObject({
  email,
  password: z.string().min(1, "must not be empty").max(1000),
});

export const currentUserOutput = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
});

export const sessionOutput = z
  .object({ user: currentUserOutput, csrfToken: z.string(), expiresAt: z.date() })
  .nullable();

export const meOutput = z.object({
  user: currentUserOutput,
  authenticatedBy: z.enum(["session", "api_token"]),
});
