import { Role } from "@kernflow/db";
import { z } from "zod";

/** "maxDevices: Invalid input: expected number, received string; name: Too small ..." */
export function formatZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ");
}

export const uuid = z.uuid();
export const idInput = z.object({ id: z.uuid() });
export const email = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email({ message: "must be an email address" }));
export const password = z.string().min(10, "must be at least 10 characters").max(200);
export const roleSchema = z.enum(Role);
