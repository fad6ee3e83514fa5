import { z } from "zod";

// Environment variables are strings; an empty one (`PORT= npm start`) means "not set", not "invalid".
const optionalText = z.preprocess((value) => (value === "" ? undefined : value), z.string().optional());

const launcherEnvSchema = z.object({
  PORT: z.preprocess(
    (value) => (value === "" || value === undefined ? undefined : value),
    z.coerce
      .number({ error: "PORT must be a number" })
      .int("PORT must be a whole number")
      .min(0, "PORT must be between 0 and 65535 (0 picks a free port)")
      .max(65535, "PORT must be between 0 and 65535 (0 picks a free port)")
      .default(3000),
  ),
  HOST: optionalText.pipe(z.string().min(1).default("127.0.0.1")),
  DATABASE_URL: optionalText.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\/.+/, "DATABASE_URL must be a postgres:// or postgresql:// URL")
      .optional(),
  ),
  KERNFLOW_HOME: optionalText,
  KERNFLOW_ADMIN_EMAIL: optionalText.pipe(
    z.email("KERNFLOW_ADMIN_EMAIL must be an email address").optional(),
  ),
  KERNFLOW_ADMIN_PASSWORD: optionalText,
  // The quick start sets it: enroll and run an agent on this host against this console.
  KERNFLOW_LOCAL_AGENT: optionalText.pipe(
    z
      .enum(["0", "1"], { error: "KERNFLOW_LOCAL_AGENT must be 1 (run a local agent) or 0" })
      .default("0")
      .transform((v) => v === "1"),
  ),
});

export type LauncherEnv = z.infer<typeof launcherEnvSchema>;

export class LauncherConfigError extends Error {
  override readonly name = "LauncherConfigError";
}

export function parseLauncherEnv(env: Record<string, string | undefined>): LauncherEnv {
  const result = launcherEnvSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new LauncherConfigError(`invalid environment:\n${problems.join("\n")}`);
  }
  return result.data;
}
