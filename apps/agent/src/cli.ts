import { readFileSync } from "node:fs";
import type { Writable } from "node:stream";
import { inspect } from "node:util";
import type { FlowRecord } from "@kernflow/protocol";
import { BytecodeError, MissingKernelFeatureError, MissingPrivilegeError } from "./capture/errors";
import { type CaptureFlags, parseCaptureFlags, UsageError } from "./cli-flags";
import type { CaptureOptions } from "./roles/capture";
import { createStdoutSink } from "./sinks";
import { IpfixSink } from "./sinks/ipfix";
import { NatsExportSink } from "./transport/nats-sink";

/** Exit codes of CONTRACTS.md §2. */
export const exitCode = { ok: 0, failure: 1, usage: 2, privilege: 3 } as const;

/** The capture role's entry point; injectable so the CLI's wiring is testable without a kernel. */
export type CaptureRunner = (
  opts: CaptureOptions,
  onRecords: (records: FlowRecord[]) => void | Promise<void>,
  signal: AbortSignal,
) => Promise<unknown>;

export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
  /** Aborted when the process receives SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** Content of `/proc/self/status`; injectable so privilege checks can be tested without changing user. */
  procStatus?: () => string;
  loadCapture?: () => Promise<CaptureRunner>;
  env?: Readonly<Record<string, string | undefined>>;
}

const program = "kernflow-agent";

const mainHelp = `Usage: ${program} <command> [flags]

kernflow host agent: eBPF flow telemetry per process and container.

Commands:
  capture    capture flows on matching interfaces and print them (standalone)
  enroll     exchange an enrollment token for this agent's credentials
  run        connected mode: check in, apply pushed config live, ship flows to the console
  aggregate  join source and destination records from many agents, forward to the console
  kubetags   watch Kubernetes and serve IP/container → pod, service, node, workload maps

Run '${program} <command> --help' for a command's flags.
Exit codes: 0 done, 1 runtime failure, 2 bad usage, 3 missing privilege or kernel feature.
`;

const captureHelp = `Usage: ${program} capture --interfaces 'PATTERN[,PATTERN...]' [flags]

Attaches to every interface whose name matches (now and as new ones appear), counts flows in the
kernel and prints one record per flow direction and interval to stdout. Needs root, or
CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON. Stops on SIGINT/SIGTERM or after --duration, after a last
drain, leaving no BPF program or tc filter behind.

Flags:
  --interfaces PATTERNS  interface globs, comma-separated or repeated: eth*, cali*, veth?, tun[0-3]  (required)
  --exclude PATTERNS     globs of interfaces to leave out, comma-separated or repeated
  --interval DURATION    how often the kernel maps are drained and records printed (default 10s)
  --duration DURATION    stop after this long, having printed everything counted (default: run until signalled)
  --format FORMAT        ndjson (one JSON record per line) or table (default: table on a terminal, else ndjson)
  --bytecode FILE        BPF object to load instead of the built-in bpf/build/kernflow.bpf.o
  --export URL           also send records to ipfix://HOST:PORT, ipfix+tcp://HOST:PORT or
                         nats://HOST:PORT/SUBJECT (JetStream; repeatable).
                         IPFIX options: ?pen=N private enterprise number of kernflow's fields
                         (default 4294967040, a placeholder), ?mtu=BYTES largest message (default 1400)
  --device NAME          device name put in every record (default: this host's name)
  --map-entries N        capacity of the kernel flow map (default chosen by the capture engine)
  -h, --help             show this help

Durations: 500ms, 10s, 5m, 1h. KERNFLOW_DEBUG=1 adds stack traces to runtime failures.
`;

const capabilityBits = { CAP_NET_ADMIN: 12, CAP_SYS_ADMIN: 21, CAP_PERFMON: 38, CAP_BPF: 39 } as const;

/** Names of the capabilities capture needs that this process lacks, from `/proc/self/status` CapEff. */
export function missingCaptureCapabilities(procStatus: string): string[] {
  const line = /^CapEff:\s*([0-9a-f]+)$/im.exec(procStatus);
  if (line === null) return ["CAP_BPF", "CAP_NET_ADMIN", "CAP_PERFMON"];
  const effective = BigInt(`0x${line[1]}`);
  const has = (cap: keyof typeof capabilityBits) => (effective >> BigInt(capabilityBits[cap])) & 1n;
  const missing: string[] = [];
  // Before CAP_BPF/CAP_PERFMON existed (5.8), CAP_SYS_ADMIN granted both; the kernel still honours it.
  if (!has("CAP_BPF") && !has("CAP_SYS_ADMIN")) missing.push("CAP_BPF");
  if (!has("CAP_NET_ADMIN")) missing.push("CAP_NET_ADMIN");
  if (!has("CAP_PERFMON") && !has("CAP_SYS_ADMIN")) missing.push("CAP_PERFMON");
  return missing;
}

async function loadCaptureRole(): Promise<CaptureRunner> {
  // Loaded lazily: koffi and libbpf are only needed once flags and privileges have been checked.
  const role = await import("./roles/capture");
  return role.runCapture;
}

async function runCaptureCommand(flags: CaptureFlags, io: CliIo): Promise<number> {
  const log = (msg: string) => io.stderr.write(`${program}: ${msg}\n`);
  const stop = new AbortController();
  const onSignal = () => {
    log("stopping: draining the maps and detaching");
    stop.abort();
  };
  if (io.signal.aborted) return exitCode.ok;
  io.signal.addEventListener("abort", onSignal, { once: true });
  const timer = flags.durationMs === null ? null : setTimeout(() => stop.abort(), flags.durationMs);
  const sink = createStdoutSink(flags.format, io.stdout);
  const exportSinks = flags.exports.map((target) =>
    target.kind === "nats"
      ? new NatsExportSink(
          `nats://${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}/${target.subject}`,
          log,
        )
      : new IpfixSink(target, log),
  );
  let readerGone = false;
  const onRecords = async (records: FlowRecord[]) => {
    if (readerGone) return;
    try {
      await sink.write(records);
      // Export sinks queue and return at once: a slow or absent collector never holds up the drain.
      for (const exportSink of exportSinks) await exportSink.write(records);
    } catch (error) {
      // `capture | head` closing the pipe means the reader has seen enough: stop cleanly, exit 0.
      if ((error as NodeJS.ErrnoException).code !== "EPIPE") throw error;
      readerGone = true;
      log("stdout was closed by its reader; stopping");
      stop.abort();
    }
  };
  try {
    const runCapture = await (io.loadCapture ?? loadCaptureRole)();
    const summary = await runCapture(
      {
        include: flags.include,
        exclude: flags.exclude,
        intervalMs: flags.intervalMs,
        ...(flags.bytecodePath === undefined ? {} : { bytecodePath: flags.bytecodePath }),
        deviceName: flags.deviceName,
        ...(flags.mapEntries === undefined ? {} : { mapEntries: flags.mapEntries }),
        log,
      },
      onRecords,
      stop.signal,
    );
    await sink.close();
    await Promise.all(exportSinks.map((exportSink) => exportSink.close()));
    if (summary !== undefined)
      log(`capture ended: ${inspect(summary, { breakLength: Number.POSITIVE_INFINITY })}`);
    return exitCode.ok;
  } catch (error) {
    if (error instanceof MissingPrivilegeError || error instanceof MissingKernelFeatureError) {
      log(error.message);
      return exitCode.privilege;
    }
    // A --bytecode file that is not a kernflow object is bad input; a broken built-in object is our failure.
    if (error instanceof BytecodeError && flags.bytecodePath !== undefined) {
      log(`--bytecode ${flags.bytecodePath}: ${error.message}`);
      return exitCode.usage;
    }
    log(`capture failed: ${describeFailure(error, flags.debug)}`);
    return exitCode.failure;
  } finally {
    if (timer !== null) clearTimeout(timer);
    io.signal.removeEventListener("abort", onSignal);
  }
}

/** The message and its chain of causes; the stack only when debugging, since operators act on the message. */
export function describeFailure(error: unknown, debug: boolean): string {
  if (!(error instanceof Error)) return String(error);
  if (debug) return error.stack ?? error.message;
  const parts = [error.message];
  let cause = error.cause;
  while (cause instanceof Error && parts.length < 5) {
    parts.push(cause.message);
    cause = cause.cause;
  }
  return parts.join(": caused by: ");
}

function usageFailure(io: CliIo, command: string | null, message: string): number {
  const help = command === null ? `${program} --help` : `${program} ${command} --help`;
  io.stderr.write(
    `${program}${command === null ? "" : ` ${command}`}: ${message}\nRun '${help}' for usage.\n`,
  );
  return exitCode.usage;
}

/** Runs one invocation and returns its exit code; never calls process.exit, so it can be tested in-process. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.stderr.write(mainHelp);
    return exitCode.usage;
  }
  if (command === "--help" || command === "-h" || command === "help") {
    io.stdout.write(mainHelp);
    return exitCode.ok;
  }
  if (command === "capture") {
    let flags: CaptureFlags | null;
    try {
      flags = parseCaptureFlags(rest, io.stdout.isTTY === true, io.env ?? process.env);
    } catch (error) {
      if (error instanceof UsageError) return usageFailure(io, command, error.message);
      throw error;
    }
    if (flags === null) {
      io.stdout.write(captureHelp);
      return exitCode.ok;
    }
    const missing = missingCaptureCapabilities(
      (io.procStatus ?? (() => readFileSync("/proc/self/status", "utf8")))(),
    );
    if (missing.length > 0) {
      io.stderr.write(
        `${program} capture: missing privilege: ${missing.join(", ")}; run as root or grant ` +
          "CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON\n",
      );
      return exitCode.privilege;
    }
    return runCaptureCommand(flags, io);
  }
  if (command === "enroll" || command === "run") {
    const connected = await import("./roles/connected-command");
    return command === "enroll" ? connected.runEnrollCommand(rest, io) : connected.runRunCommand(rest, io);
  }
  if (command === "aggregate") {
    const { runAggregateCommand } = await import("./roles/aggregate-command");
    return runAggregateCommand(rest, io);
  }
  if (command === "kubetags") {
    const { runKubetagsCommand } = await import("./roles/kubetags-command");
    return runKubetagsCommand(rest, io);
  }
  return usageFailure(io, null, `unknown command "${command}"`);
}

/** Entry point of bin/kernflow-agent.js: wires signals and exits with the contract's code. */
export async function runCliProcess(argv: readonly string[]): Promise<never> {
  const interrupted = new AbortController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      interrupted.abort(name);
      return;
    }
    // A second signal means the operator will not wait for the drain; tcx links die with us anyway.
    process.stderr.write(`${program}: ${name} again, exiting without a final drain\n`);
    process.exit(exitCode.failure);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // A closed pipe (`| head`) is the reader saying it has seen enough, not a failure.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") interrupted.abort("EPIPE");
    else throw error;
  });
  let code: number;
  try {
    code = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, signal: interrupted.signal });
  } catch (error) {
    process.stderr.write(
      `${program}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    code = exitCode.failure;
  }
  process.exit(code);
}
