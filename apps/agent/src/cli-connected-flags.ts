import { accessSync, constants, statSync } from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { z } from "zod";
import { UsageError } from "./cli-flags";
import { defaultStateDir } from "./connected/state";

const serverFlag = z
  .string()
  .trim()
  .pipe(
    z.url({
      protocol: /^https?$/,
      error: (issue) =>
        `--server must be the console's http(s) URL, e.g. http://console:3000, got "${String(issue.input)}"`,
    }),
  )
  .transform((url) => url.replace(/\/+$/, ""));

const stateDirFlag = z.string().trim().min(1, "--state-dir must not be empty");

const readableFile = (flag: string) =>
  z.string().transform((path, ctx) => {
    try {
      if (!statSync(path).isFile()) throw new Error("not a regular file");
      accessSync(path, constants.R_OK);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      ctx.addIssue({ code: "custom", message: `${flag} ${path} cannot be read (${reason})` });
      return z.NEVER;
    }
    return path;
  });

const enrollFlagsSchema = z.object({
  server: serverFlag.optional().refine((v) => v !== undefined, {
    message: "--server is required, e.g. --server http://console:3000",
  }),
  token: z
    .string({ error: "--token is required: the enrollment token shown by the console" })
    .trim()
    .min(1, "--token must not be empty")
    .max(256, "--token is longer than any enrollment token"),
  "state-dir": stateDirFlag,
});

const runFlagsSchema = z.object({
  server: serverFlag.optional(),
  "state-dir": stateDirFlag,
  bytecode: readableFile("--bytecode").optional(),
});

export interface EnrollFlags {
  server: string;
  token: string;
  stateDir: string;
}

export interface RunFlags {
  server: string | undefined;
  stateDir: string;
  bytecodePath: string | undefined;
}

function parseOrUsage(argv: readonly string[], options: NonNullable<ParseArgsConfig["options"]>) {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options,
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    return values as Record<string, string | boolean | undefined>;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
}

function issues(error: z.ZodError): UsageError {
  return new UsageError(error.issues.map((i) => i.message).join("; "));
}

/** Returns null when `--help` was asked for. */
export function parseEnrollFlags(argv: readonly string[]): EnrollFlags | null {
  const values = parseOrUsage(argv, {
    server: { type: "string" },
    token: { type: "string" },
    "state-dir": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return null;
  const parsed = enrollFlagsSchema.safeParse({
    server: values.server,
    token: values.token,
    "state-dir": values["state-dir"] ?? defaultStateDir,
  });
  if (!parsed.success) throw issues(parsed.error);
  return {
    server: parsed.data.server as string,
    token: parsed.data.token,
    stateDir: parsed.data["state-dir"],
  };
}

/** Returns null when `--help` was asked for. */
export function parseRunFlags(argv: readonly string[]): RunFlags | null {
  const values = parseOrUsage(argv, {
    server: { type: "string" },
    "state-dir": { type: "string" },
    bytecode: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return null;
  const parsed = runFlagsSchema.safeParse({
    server: values.server,
    "state-dir": values["state-dir"] ?? defaultStateDir,
    bytecode: values.bytecode,
  });
  if (!parsed.success) throw issues(parsed.error);
  return {
    server: parsed.data.server,
    stateDir: parsed.data["state-dir"],
    bytecodePath: parsed.data.bytecode,
  };
}
