import { accessSync, constants, statSync } from "node:fs";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { InvalidGlobError, splitPatternList, validateGlobs } from "@kernflow/protocol";
import { z } from "zod";
import type { OutputFormat } from "./sinks";

/** Bad command-line input; the CLI prints the message with a pointer to `--help` and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

const durationUnits: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `500ms`, `10s`, `1.5m`, `2h` → milliseconds. A bare number is refused: `10` could mean 10 s or 10 ms. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (match === null) {
    throw new UsageError(`"${text}" is not a duration; write a number with a unit, e.g. 500ms, 10s, 5m, 1h`);
  }
  return Math.round(Number(match[1]) * (durationUnits[match[2] as string] as number));
}

const durationFlag = (flag: string, minMs: number, maxMs: number) =>
  z.string().transform((text, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
    if (ms < minMs || ms > maxMs) {
      ctx.addIssue({
        code: "custom",
        message: `${flag} must be between ${formatMs(minMs)} and ${formatMs(maxMs)}, got ${text}`,
      });
      return z.NEVER;
    }
    return ms;
  });

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

const patternListFlag = z.array(z.string()).transform((values, ctx) => {
  const patterns = values.flatMap(splitPatternList);
  try {
    validateGlobs(patterns);
  } catch (error) {
    if (!(error instanceof InvalidGlobError)) throw error;
    ctx.addIssue({ code: "custom", message: error.message });
    return z.NEVER;
  }
  return patterns;
});

/** IPFIX options from the URL query: `?pen=N` (private enterprise number), `?mtu=BYTES` (largest message). */
export interface IpfixUrlOptions {
  enterpriseId?: number;
  maxMessageBytes?: number;
}

export type ExportTarget =
  | ({ kind: "ipfix-udp"; host: string; port: number } & IpfixUrlOptions)
  | ({ kind: "ipfix-tcp"; host: string; port: number } & IpfixUrlOptions)
  | { kind: "nats"; host: string; port: number; subject: string };

const ipfixDefaultPort = 4739;
const natsDefaultPort = 4222;
/** NATS subject tokens: no whitespace, separated by dots; `*`/`>` wildcards make no sense for publishing. */
const natsSubjectPattern = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

/** Parses `ipfix://HOST[:PORT]`, `ipfix+tcp://HOST[:PORT]`, `nats://HOST[:PORT]/SUBJECT`. */
export function parseExportUrl(text: string): ExportTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `--export "${text}" is not a URL; expected ipfix://HOST:PORT, ipfix+tcp://HOST:PORT or nats://HOST:PORT/SUBJECT`,
    );
  }
  if (url.hostname === "") throw new UsageError(`--export "${text}" has no host`);
  const ipfix = url.protocol === "ipfix:" || url.protocol === "ipfix+tcp:";
  if (url.username !== "" || url.password !== "" || (url.search !== "" && !ipfix) || url.hash !== "") {
    throw new UsageError(`--export "${text}" must not carry credentials, a query or a fragment`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  switch (url.protocol) {
    case "ipfix:":
    case "ipfix+tcp:": {
      if (url.pathname !== "" && url.pathname !== "/") {
        throw new UsageError(`--export "${text}": an IPFIX collector URL has no path`);
      }
      const port = url.port === "" ? ipfixDefaultPort : Number(url.port);
      if (port < 1) throw new UsageError(`--export "${text}": port must be between 1 and 65535`);
      const kind = url.protocol === "ipfix:" ? "ipfix-udp" : "ipfix-tcp";
      return { kind, host, port, ...parseIpfixQuery(url.searchParams, text) };
    }
    case "nats:": {
      const subject = decodeURIComponent(url.pathname.replace(/^\//, ""));
      if (!natsSubjectPattern.test(subject)) {
        throw new UsageError(
          `--export "${text}": a NATS URL needs a subject path such as nats://HOST:4222/kernflow.flows`,
        );
      }
      return { kind: "nats", host, port: url.port === "" ? natsDefaultPort : Number(url.port), subject };
    }
    default:
      throw new UsageError(
        `--export "${text}": unsupported scheme "${url.protocol.replace(/:$/, "")}"; use ipfix, ipfix+tcp or nats`,
      );
  }
}

const ipfixQuerySchema = z
  .object({
    pen: z
      .string()
      .regex(/^\d+$/, "pen must be a whole number")
      .transform(Number)
      .pipe(z.number().int().min(1, "pen must be at least 1").max(4294967295, "pen must fit 32 bits"))
      .optional(),
    mtu: z
      .string()
      .regex(/^\d+$/, "mtu must be a whole number of bytes")
      .transform(Number)
      .pipe(z.number().int().min(1000, "mtu must be at least 1000").max(65000, "mtu must be at most 65000"))
      .optional(),
  })
  .strict();

function parseIpfixQuery(params: URLSearchParams, text: string): IpfixUrlOptions {
  const parsed = ipfixQuerySchema.safeParse(Object.fromEntries(params));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const message =
      issue?.code === "unrecognized_keys"
        ? `unknown option ${issue.keys.join(", ")}; use pen or mtu`
        : issue?.message;
    throw new UsageError(`--export "${text}": ${message}`);
  }
  return {
    ...(parsed.data.pen === undefined ? {} : { enterpriseId: parsed.data.pen }),
    ...(parsed.data.mtu === undefined ? {} : { maxMessageBytes: parsed.data.mtu }),
  };
}

const exportListFlag = z.array(z.string()).transform((values, ctx) => {
  const targets: ExportTarget[] = [];
  for (const value of values) {
    try {
      targets.push(parseExportUrl(value));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      ctx.addIssue({ code: "custom", message: error.message });
      return z.NEVER;
    }
  }
  return targets;
});

const bytecodeFlag = z.string().transform((path, ctx) => {
  try {
    if (!statSync(path).isFile()) throw new Error("not a regular file");
    accessSync(path, constants.R_OK);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    ctx.addIssue({ code: "custom", message: `--bytecode ${path} cannot be read (${reason})` });
    return z.NEVER;
  }
  return path;
});

const captureFlagsSchema = z.object({
  interfaces: patternListFlag.refine((p) => p.length > 0, {
    message: "--interfaces is required, e.g. --interfaces 'eth*,cali*'",
  }),
  exclude: patternListFlag,
  interval: durationFlag("--interval", 100, 3_600_000),
  duration: durationFlag("--duration", 1, 31 * 24 * 3_600_000).optional(),
  format: z.enum(["ndjson", "table"], {
    error: (issue) => `--format must be ndjson or table, got "${String(issue.input)}"`,
  }),
  bytecode: bytecodeFlag.optional(),
  export: exportListFlag,
  device: z.string().trim().min(1, "--device must not be empty").max(253),
  "map-entries": z
    .string()
    .regex(/^\d+$/, "--map-entries must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(1024, "--map-entries must be at least 1024").max(16_777_216))
    .optional(),
});

const debugEnvSchema = z.stringbool({ truthy: ["1", "true"], falsy: ["0", "false", ""] }).optional();

export interface CaptureFlags {
  include: string[];
  exclude: string[];
  intervalMs: number;
  durationMs: number | null;
  format: OutputFormat;
  bytecodePath: string | undefined;
  exports: ExportTarget[];
  deviceName: string;
  mapEntries: number | undefined;
  /** KERNFLOW_DEBUG: print stacks of runtime failures. */
  debug: boolean;
}

export const captureOptionSpec = {
  interfaces: { type: "string", multiple: true },
  exclude: { type: "string", multiple: true },
  interval: { type: "string" },
  duration: { type: "string" },
  format: { type: "string" },
  bytecode: { type: "string" },
  export: { type: "string", multiple: true },
  device: { type: "string" },
  "map-entries": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Node's parseArgs messages name the option already; strip its advice to use `--` which does not apply. */
function parseArgsOrUsage<T extends Parameters<typeof parseArgs>[0]>(config: T) {
  try {
    return parseArgs(config);
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw new UsageError(message);
  }
}

/** Returns null when `--help` was asked for, so the caller prints help instead of running. */
export function parseCaptureFlags(
  argv: readonly string[],
  stdoutIsTty: boolean,
  env: Readonly<Record<string, string | undefined>> = {},
): CaptureFlags | null {
  const { values, positionals } = parseArgsOrUsage({
    args: [...argv],
    options: captureOptionSpec,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return null;
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const parsed = captureFlagsSchema.safeParse({
    interfaces: values.interfaces ?? [],
    exclude: values.exclude ?? [],
    interval: values.interval ?? "10s",
    duration: values.duration,
    // People at a terminal read tables; pipes and files get records a program can parse.
    format: values.format ?? (stdoutIsTty ? "table" : "ndjson"),
    bytecode: values.bytecode,
    export: values.export ?? [],
    device: values.device ?? hostname(),
    "map-entries": values["map-entries"],
  });
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join("; "));
  const debug = debugEnvSchema.safeParse(env.KERNFLOW_DEBUG);
  if (!debug.success)
    throw new UsageError(`KERNFLOW_DEBUG must be 1, 0, true or false, got "${env.KERNFLOW_DEBUG}"`);
  const flags = parsed.data;
  return {
    include: flags.interfaces,
    exclude: flags.exclude,
    intervalMs: flags.interval,
    durationMs: flags.duration ?? null,
    format: flags.format,
    bytecodePath: flags.bytecode,
    exports: flags.export,
    deviceName: flags.device,
    mapEntries: flags["map-entries"],
    debug: debug.data ?? false,
  };
}

/** For the commands of later issues: only `--help` is accepted, anything else is still parsed strictly. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}
