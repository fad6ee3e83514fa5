import type { CheckInResponse, DesiredConfig, FlowRecord } from "@kernflow/protocol";
import { DrainLoop } from "../capture/drain-loop";
import { CaptureEngine } from "../capture/engine";
import type { BytecodeSource } from "../capture/loaded-bytecode";
import type { AgentErrors } from "./agent-errors";
import type { BytecodeCache } from "./bytecode-cache";
import { type AgentClient, AgentHttpError, ProtocolError, ServerUnreachableError } from "./client";
import type { PushedSinks } from "./pushed-sinks";

export interface ApplierOptions {
  deviceName: string;
  errors: AgentErrors;
  cache: BytecodeCache;
  client: () => AgentClient;
  log: (msg: string) => void;
  onRecords: (records: FlowRecord[]) => void | Promise<void>;
  /** The object this agent ships with, used when the console chooses none (`bytecode: null`). */
  builtinBytecode: BytecodeSource;
  builtinSha256: string;
  /** Export sinks besides the console; the applier keeps them in step with the config. */
  sinks: PushedSinks;
  mapEntries?: number;
  interfacePollMs?: number;
  /** The capture ended by itself (the interface poll failed): connected mode must stop, not idle. */
  onCaptureFailed: (error: unknown) => void;
}

/** The console could not hand the bytecode over (unlike the kernel refusing it, worth retrying). */
function isDownloadFailure(error: unknown): boolean {
  return (
    error instanceof AgentHttpError ||
    error instanceof ServerUnreachableError ||
    error instanceof ProtocolError
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Turns the console's desired config into the running capture, without restarting it.
 *
 * Semantics of a bytecode the kernel refuses: the capture keeps the last good bytecode; the config still
 * counts as applied (its hash is reported as `config_hash_applied`, so the console does not push it
 * again in a loop), but `bytecode_sha256` names the object actually in use and a current `bytecode_load`
 * error makes the agent `degraded` until the console chooses a bytecode that loads. The same refused
 * sha256 is not tried again until the console pushes a different one.
 */
export class ConfigApplier {
  private engine: CaptureEngine | undefined;
  private loop: DrainLoop | undefined;
  private loopDone: Promise<unknown> | undefined;
  private refusedSha: string | null = null;
  private readonly stop = new AbortController();
  appliedHash: string | null = null;
  /** Where flow batches are posted: an aggregator's URL, undefined = the console. */
  flowDestination: string | undefined;
  /** NATS JetStream URL flow batches are published to first (the console over HTTP while it is away). */
  natsDestination: string | undefined;

  constructor(private readonly opts: ApplierOptions) {}

  get running(): CaptureEngine | undefined {
    return this.engine;
  }

  get flowsPerSecond(): number {
    return this.loop?.totals.flowsPerSecond ?? 0;
  }

  get totals() {
    return this.loop?.totals;
  }

  set deviceName(name: string) {
    this.opts.deviceName = name;
    if (this.engine) this.engine.deviceName = name;
  }

  private async desiredBytecode(config: DesiredConfig): Promise<BytecodeSource> {
    if (config.bytecode === null) return this.opts.builtinBytecode;
    const bytes = await this.opts.cache.get(config.bytecode.sha256, this.opts.client(), this.stop.signal);
    return { kind: "bytes", bytes, label: `bytecode ${config.bytecode.name} (${config.bytecode.sha256})` };
  }

  /** Starts the capture with this config; a refused pushed bytecode falls back to the built-in one. */
  private async start(config: DesiredConfig): Promise<CaptureEngine> {
    const rules = { include: config.capture.include, exclude: config.capture.exclude };
    const engineOpts = {
      deviceName: this.opts.deviceName,
      log: this.opts.log,
      onAttachError: (ifname: string, error: Error) =>
        this.opts.errors.set(`attach:${ifname}`, "attach", `cannot capture on ${ifname}: ${error.message}`),
      ...(this.opts.mapEntries === undefined ? {} : { mapEntries: this.opts.mapEntries }),
    };
    let engine: CaptureEngine;
    if (config.bytecode === null) {
      engine = await CaptureEngine.start(rules, this.opts.builtinBytecode, engineOpts);
    } else {
      try {
        engine = await CaptureEngine.start(rules, await this.desiredBytecode(config), engineOpts);
      } catch (error) {
        // Not downloadable now: start with the built-in object; apply() tries the pushed one again.
        if (isDownloadFailure(error)) this.opts.log(`bytecode download failed: ${describe(error)}`);
        else this.bytecodeRefused(config, error);
        engine = await CaptureEngine.start(rules, this.opts.builtinBytecode, engineOpts);
      }
    }
    this.engine = engine;
    this.loop = new DrainLoop(
      engine,
      config.capture.interval_ms,
      this.opts.onRecords,
      this.opts.interfacePollMs,
    );
    this.loopDone = this.loop.run(this.stop.signal);
    // A failing capture loop (interface poll) must surface, not be dropped.
    this.loopDone.catch((error) => {
      this.opts.log(`capture stopped: ${describe(error)}`);
      this.opts.onCaptureFailed(error);
    });
    return engine;
  }

  private bytecodeRefused(config: DesiredConfig, error: unknown): void {
    const wanted = config.bytecode;
    const sha = wanted?.sha256 ?? this.opts.builtinSha256;
    this.refusedSha = sha;
    const inUse = this.engine?.bytecodeSha256;
    const message =
      `bytecode ${wanted?.name ?? "built-in"} (${sha}) failed to load: ${describe(error)}; ` +
      `still running ${inUse ?? "the built-in bytecode"}`;
    this.opts.log(message);
    this.opts.errors.set("bytecode", "bytecode_load", message);
  }

  /** Applies one desired config; every part is tried even when another fails, each failure reported.
   * `appliedHash` moves to the config's hash unless its bytecode could not be downloaded (retried). */
  async apply(answer: Pick<CheckInResponse, "config" | "config_hash">): Promise<void> {
    const { config } = answer;
    let downloadFailed = false;
    const engine = this.engine ?? (await this.start(config));
    this.opts.errors.clearWhere((key) => key.startsWith("attach:"));
    await engine.setRules({ include: config.capture.include, exclude: config.capture.exclude });
    this.loop?.setIntervalMs(config.capture.interval_ms);

    // A null bytecode means the object this agent ships with, which may differ from what runs now.
    const wantedSha = config.bytecode?.sha256 ?? this.opts.builtinSha256;
    if (wantedSha === engine.bytecodeSha256) {
      this.refusedSha = null;
      this.opts.errors.clear("bytecode");
    } else if (wantedSha !== this.refusedSha) {
      let source: BytecodeSource | undefined;
      try {
        source = await this.desiredBytecode(config);
      } catch (error) {
        if (!isDownloadFailure(error)) throw error;
        // Transient (console away, 5xx): reported, and the config is not counted as applied, so the
        // check-in loop retries it after a backoff instead of running the wrong bytecode for good.
        downloadFailed = true;
        this.opts.errors.set(
          "bytecode",
          "bytecode_download",
          `bytecode ${config.bytecode?.name} (${wantedSha}) could not be downloaded: ${describe(error)}; ` +
            `still running ${engine.bytecodeSha256}`,
        );
      }
      if (source !== undefined) {
        try {
          await engine.swapBytecode(source);
          this.refusedSha = null;
          this.opts.errors.clear("bytecode");
        } catch (error) {
          this.bytecodeRefused(config, error);
        }
      }
    }

    if (config.capture.sample_rate !== 1) {
      this.opts.errors.set(
        "sample_rate",
        "sample_rate",
        `sample rate ${config.capture.sample_rate} is not supported by this agent: every packet is counted (1)`,
      );
    } else this.opts.errors.clear("sample_rate");

    await this.opts.sinks.apply(config.sinks);
    const destination = config.flow_destination;
    this.flowDestination = destination.kind === "aggregator" ? destination.url : undefined;
    this.natsDestination = destination.kind === "nats" ? destination.url : undefined;
    if (!downloadFailed) this.appliedHash = answer.config_hash;
  }

  /** Stops the capture: detaches, drains the last interval into onRecords, unloads. */
  async close(): Promise<void> {
    this.stop.abort();
    await this.loopDone?.catch(() => {});
  }
}
