import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type AgentStatus, type CheckInResponse, MAX_CHECK_IN_WAIT_MS } from "@kernflow/protocol";
import { defaultBytecodePath } from "../bpf/loader";
import { AgentErrors } from "../connected/agent-errors";
import { Backoff } from "../connected/backoff";
import { BytecodeCache } from "../connected/bytecode-cache";
import { AgentClient, AgentHttpError } from "../connected/client";
import { ConfigApplier } from "../connected/config-applier";
import { gatherHostFacts } from "../connected/host-facts";
import { NatsDestination } from "../connected/nats-destination";
import { PushedSinks } from "../connected/pushed-sinks";
import { CredentialRefusedError, FlowShipper } from "../connected/shipper";
import { defaultSpoolBytes, Spool } from "../connected/spool";
import {
  type AgentState,
  readAgentState,
  readAppliedConfig,
  writeAgentState,
  writeAppliedConfig,
} from "../connected/state";

export { CredentialRefusedError } from "../connected/shipper";

export interface ConnectedOptions {
  stateDir: string;
  /** Overrides the server recorded at enrolment. */
  server?: string;
  log: (msg: string) => void;
  /** Built-in object; tests and `--bytecode` may name another. */
  bytecodePath?: string;
  spoolBytes?: number;
  /** Longest a check-in is held open (the protocol's 30 s unless a test wants less). */
  checkInWaitMs?: number;
  /** How long shutdown may spend shipping what is left before leaving it spooled. */
  flushMs?: number;
  interfacePollMs?: number;
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

/**
 * Connected mode: checks in with the console (long-poll), applies what it pushes to the running capture
 * without a restart, and ships records through the on-disk spool. The console being away changes
 * nothing for the capture: check-ins and shipping retry with backoff, batches wait in the spool. Ends on
 * `signal` (drains, ships or spools what is left, detaches) or throws {@link CredentialRefusedError}.
 */
export async function runConnected(opts: ConnectedOptions, signal: AbortSignal): Promise<void> {
  let state: AgentState = readAgentState(opts.stateDir);
  const server = (opts.server ?? state.server).replace(/\/+$/, "");
  const { log } = opts;
  const consoleClient = new AgentClient(server, state.credential);
  const errors = new AgentErrors();
  const spool = new Spool(join(opts.stateDir, "spool"), opts.spoolBytes ?? defaultSpoolBytes, log);
  if (spool.size > 0)
    log(`${spool.size} batch(es), ${spool.records} record(s) spooled by an earlier run will be replayed`);

  let applier: ConfigApplier | undefined;
  let aggregator: { url: string; client: AgentClient } | undefined;
  const flowClient = () => {
    const url = applier?.flowDestination;
    if (url === undefined) return consoleClient;
    if (aggregator?.url !== url) aggregator = { url, client: new AgentClient(url, state.credential) };
    return aggregator.client;
  };
  const nats = new NatsDestination(() => applier?.natsDestination, state.credential, log);
  const shipper = new FlowShipper(
    spool,
    flowClient,
    {
      log,
      onFailure: (message) => errors.set("ship", "ship", `shipping flow batches fails: ${message}`),
      onSuccess: () => errors.clear("ship"),
    },
    undefined,
    nats,
  );

  // Aborted by a fatal failure (credential refused, capture ended) as much as by the operator's signal.
  const refused = new AbortController();
  const stopAll = AbortSignal.any([signal, refused.signal]);
  let failure: unknown;
  const sinks = new PushedSinks(errors, log);
  const builtinPath = opts.bytecodePath ?? defaultBytecodePath();
  applier = new ConfigApplier({
    deviceName: state.device.name,
    errors,
    cache: new BytecodeCache(opts.stateDir),
    client: () => consoleClient,
    log,
    onRecords: async (records) => {
      shipper.enqueue(records);
      // Sinks queue and return at once: a slow or absent collector never holds up the drain.
      await sinks.write(records);
    },
    sinks,
    onCaptureFailed: (error) => {
      failure ??= error;
      refused.abort();
    },
    builtinBytecode: { kind: "file", path: builtinPath },
    builtinSha256: createHash("sha256").update(readFileSync(builtinPath)).digest("hex"),
    ...(opts.interfacePollMs === undefined ? {} : { interfacePollMs: opts.interfacePollMs }),
  });

  const apply = async (answer: Pick<CheckInResponse, "config" | "config_hash">, source: string) => {
    await (applier as ConfigApplier).apply(answer);
    const done = applier?.appliedHash === answer.config_hash;
    log(
      `config ${answer.config_hash.slice(0, 12)} ${done ? "applied" : "partly applied (bytecode to retry)"} (${source})`,
    );
  };
  // With a config from an earlier run, capture starts at once, whether the console answers or not.
  const saved = readAppliedConfig(opts.stateDir);
  if (saved) await apply(saved, "saved by an earlier run");
  else log("no config yet: capture starts with the first answer from the console");

  const status = (): AgentStatus => {
    const engine = applier?.running;
    return {
      health: engine === undefined ? "starting" : errors.size > 0 ? "degraded" : "ok",
      config_hash_applied: applier?.appliedHash ?? null,
      bytecode_sha256: engine?.bytecodeSha256 ?? null,
      interfaces_seen: (engine?.interfacesSeen ?? []).slice(0, 4096),
      interfaces_attached: (engine?.interfacesAttached ?? []).slice(0, 4096),
      map_overflow: engine?.overflow.refused ?? 0,
      flows_per_second: applier?.flowsPerSecond ?? 0,
      records_spooled: spool.records,
      errors: errors.list(),
    };
  };

  const checkInLoop = async () => {
    const backoff = new Backoff();
    const retryApply = new Backoff(1_000);
    let waitMs = 0;
    while (!stopAll.aborted) {
      let answer: CheckInResponse;
      try {
        answer = await consoleClient.checkIn(
          { host: await gatherHostFacts(), status: status(), wait_ms: waitMs },
          stopAll,
        );
      } catch (error) {
        if (stopAll.aborted) return;
        if (error instanceof AgentHttpError && error.status === 401) throw new CredentialRefusedError();
        const delay =
          error instanceof AgentHttpError && error.retryAfterMs !== null
            ? error.retryAfterMs
            : backoff.next();
        if (backoff.failures <= 1 || backoff.failures % 10 === 0)
          log(
            `check-in failed (${error instanceof Error ? error.message : String(error)}); retrying in ${delay} ms`,
          );
        waitMs = 0;
        await pause(delay, stopAll);
        continue;
      }
      if (backoff.failures > 0) log("console reachable again");
      backoff.reset();
      if (answer.device.name !== state.device.name) {
        log(`device renamed by the console: ${state.device.name} -> ${answer.device.name}`);
        state = { ...state, device: { ...state.device, name: answer.device.name } };
        writeAgentState(opts.stateDir, state);
        (applier as ConfigApplier).deviceName = answer.device.name;
      }
      if (answer.config_hash !== applier?.appliedHash) {
        await apply(answer, "pushed by the console");
        // Report the result at once, so the console shows what is attached now, not in 30 s.
        waitMs = 0;
        if (applier?.appliedHash === answer.config_hash) {
          retryApply.reset();
          writeAppliedConfig(opts.stateDir, { config_hash: answer.config_hash, config: answer.config });
        } else {
          // Part of it (the bytecode download) must be retried: not in a tight loop.
          await pause(retryApply.next(), stopAll);
        }
      } else {
        waitMs = opts.checkInWaitMs ?? MAX_CHECK_IN_WAIT_MS;
      }
    }
  };

  const guard = (task: Promise<void>) =>
    task.catch((error) => {
      failure ??= error;
      refused.abort();
    });
  const tasks = [guard(checkInLoop()), guard(shipper.run(stopAll))];
  await Promise.race([
    new Promise((resolve) => stopAll.addEventListener("abort", resolve, { once: true })),
    ...tasks,
  ]);
  refused.abort();
  await Promise.all(tasks);
  // Detach and drain the last interval into the spool, then ship what the console takes in time.
  await applier.close();
  await sinks.close();
  if (!(failure instanceof CredentialRefusedError)) await shipper.flush(opts.flushMs ?? 5_000);
  await nats.close();
  if (spool.size > 0)
    log(`${spool.size} batch(es), ${spool.records} record(s) left spooled for the next run`);
  log(
    `stopped: ${shipper.shipped.batches} batch(es), ${shipper.shipped.records} record(s) shipped` +
      (nats.published.batches > 0 ? ` (${nats.published.batches} batch(es) through NATS)` : "") +
      (spool.lost.records > 0 ? `, ${spool.lost.records} record(s) lost to a full spool` : ""),
  );
  if (failure !== undefined) throw failure;
}
