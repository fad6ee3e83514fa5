import { readFileSync } from "node:fs";
import { MissingKernelFeatureError, MissingPrivilegeError } from "../capture/errors";
import { type CliIo, describeFailure, exitCode, missingCaptureCapabilities } from "../cli";
import { parseEnrollFlags, parseRunFlags } from "../cli-connected-flags";
import { UsageError } from "../cli-flags";
import { ServerUnreachableError } from "../connected/client";
import { StateError } from "../connected/state";

const program = "kernflow-agent";

export const enrollHelp = `Usage: ${program} enroll --server URL --token TOKEN [--state-dir DIR]

Exchanges an enrollment token (created in the console, Enrollment tokens) for this host's own device
and credential. The credential is written to DIR/state.json, readable by root only; run
'${program} run' afterwards. Enrolling the same machine again reuses its device.

Flags:
  --server URL      the console, e.g. http://console:3000  (required)
  --token TOKEN     the enrollment token                     (required)
  --state-dir DIR   where the credential is kept (default /var/lib/kernflow)
  -h, --help        show this help

Exit codes: 0 enrolled, 1 refused by the console or console unreachable, 2 bad usage.
`;

export const runHelp = `Usage: ${program} run [--server URL] [--state-dir DIR] [--bytecode FILE]

Connected mode: checks in with the console (long-poll), applies what it pushes without restarting
(capture rules attach and detach interfaces, interval, bytecode, sample rate, sinks) and ships flow
records to it. Batches go through a spool in DIR/spool (bounded to 256 MiB, oldest dropped and counted
when full), so nothing is lost while the console is away; capture keeps running meanwhile and retries
back off up to 30 s. SIGINT/SIGTERM: drain, ship or spool what is left, detach, exit 0.

Flags:
  --server URL      the console (default: the one enrolled with)
  --state-dir DIR   state written by 'enroll' (default /var/lib/kernflow)
  --bytecode FILE   the built-in BPF object used when the console chooses none
                    (default bpf/build/kernflow.bpf.o)
  -h, --help        show this help

Exit codes: 0 stopped by a signal, 1 runtime failure (e.g. credential refused: enroll again),
2 bad usage, 3 missing privilege or kernel feature.
`;

function usage(io: CliIo, command: string, message: string): number {
  io.stderr.write(`${program} ${command}: ${message}\nRun '${program} ${command} --help' for usage.\n`);
  return exitCode.usage;
}

export async function runEnrollCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let flags: ReturnType<typeof parseEnrollFlags>;
  try {
    flags = parseEnrollFlags(argv);
  } catch (error) {
    if (error instanceof UsageError) return usage(io, "enroll", error.message);
    throw error;
  }
  if (flags === null) {
    io.stdout.write(enrollHelp);
    return exitCode.ok;
  }
  const { enroll } = await import("./enroll");
  try {
    const state = await enroll({ ...flags, signal: io.signal });
    io.stdout.write(
      `enrolled as device "${state.device.name}" (${state.device.id}) in plan "${state.device.plan_name}"; ` +
        `credential kept in ${flags.stateDir}/state.json\nnext: ${program} run --state-dir ${flags.stateDir}\n`,
    );
    return exitCode.ok;
  } catch (error) {
    io.stderr.write(`${program} enroll: ${describeFailure(error, false)}\n`);
    return exitCode.failure;
  }
}

export async function runRunCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let flags: ReturnType<typeof parseRunFlags>;
  try {
    flags = parseRunFlags(argv);
  } catch (error) {
    if (error instanceof UsageError) return usage(io, "run", error.message);
    throw error;
  }
  if (flags === null) {
    io.stdout.write(runHelp);
    return exitCode.ok;
  }
  const missing = missingCaptureCapabilities(
    (io.procStatus ?? (() => readFileSync("/proc/self/status", "utf8")))(),
  );
  if (missing.length > 0) {
    io.stderr.write(
      `${program} run: missing privilege: ${missing.join(", ")}; run as root or grant CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON\n`,
    );
    return exitCode.privilege;
  }
  const log = (msg: string) => io.stderr.write(`${program}: ${msg}\n`);
  const { runConnected } = await import("./connected");
  try {
    await runConnected(
      {
        stateDir: flags.stateDir,
        log,
        ...(flags.server === undefined ? {} : { server: flags.server }),
        ...(flags.bytecodePath === undefined ? {} : { bytecodePath: flags.bytecodePath }),
      },
      io.signal,
    );
    return exitCode.ok;
  } catch (error) {
    if (error instanceof MissingPrivilegeError || error instanceof MissingKernelFeatureError) {
      log(error.message);
      return exitCode.privilege;
    }
    if (error instanceof StateError || error instanceof ServerUnreachableError) {
      log(error.message);
      return exitCode.failure;
    }
    log(describeFailure(error, io.env?.KERNFLOW_DEBUG === "1"));
    return exitCode.failure;
  }
}
