import { z } from "zod";
import { email, password, roleSchema } from "../../validation";

const name = z.string().trim().min(1, "must not be empty").max(200);

export const userCreateInput = z.strictObject({ email, name, role: roleSchema, password });
export const userUpdateInput = z.strictObject({
  id: z.uuid(),
  name: name.optional(),
  role: roleSchema.optional(),
});
export const userResetPasswordInput = z.strictObject({ id: z.uuid(), password });

export const userOutput = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  lockedUntil: z.date().nullable(),
  lastLoginAt: z.date().nullable(),
  createdAt: z.date(),
});
