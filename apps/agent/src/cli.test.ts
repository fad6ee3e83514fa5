import { PassThrough, Writable } from "node:stream";
import { flowRecordSchema } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import { MissingKernelFeatureError } from "./capture/errors";
import { type CaptureRunner, type CliIo, describeFailure, missingCaptureCapabilities, runCli } from "./cli";
import { sampleRecord } from "./sinks/fixtures.test-support";

const rootStatus = "Name:\tnode\nCapEff:\t000001ffffffffff\n";

function collect(stream: PassThrough): () => string {
  let text = "";
  stream.on("data", (chunk) => {
    text += String(chunk);
  });
  return () => text;
}

function io(overrides: Partial<CliIo> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  return {
    io: { stdout, stderr, signal: new AbortController().signal, procStatus: () => rootStatus, ...overrides },
    out,
    err,
  };
}

describe("missingCaptureCapabilities", () => {
  it("accepts full root capabilities", () => {
    expect(missingCaptureCapabilities(rootStatus)).toEqual([]);
  });
  it("names every missing capability for an unprivileged process", () => {
    expect(missingCaptureCapabilities("CapEff:\t0000000000000000\n")).toEqual([
      "CAP_BPF",
      "CAP_NET_ADMIN",
      "CAP_PERFMON",
    ]);
  });
  it("accepts CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON alone, and CAP_SYS_ADMIN in place of BPF and PERFMON", () => {
    const bits = (...n: number[]) =>
      n
        .reduce((acc, b) => acc | (1n << BigInt(b)), 0n)
        .toString(16)
        .padStart(16, "0");
    expect(missingCaptureCapabilities(`CapEff:\t${bits(12, 38, 39)}\n`)).toEqual([]);
    expect(missingCaptureCapabilities(`CapEff:\t${bits(12, 21)}\n`)).toEqual([]);
    expect(missingCaptureCapabilities(`CapEff:\t${bits(38, 39)}\n`)).toEqual(["CAP_NET_ADMIN"]);
  });
});

describe("runCli", () => {
  it("exits 3 naming the capabilities when they are missing, before loading the capture engine", async () => {
    let loaded = false;
    const t = io({
      procStatus: () => "CapEff:\t0000000000001000\n",
      loadCapture: async () => {
        loaded = true;
        throw new Error("must not load");
      },
    });
    expect(await runCli(["capture", "--interfaces", "lo"], t.io)).toBe(3);
    expect(t.err()).toContain("missing privilege: CAP_BPF, CAP_PERFMON");
    expect(loaded).toBe(false);
  });

  it("refuses an IPFIX export URL with an unknown option or a zero port, naming it", async () => {
    const t = io();
    expect(await runCli(["capture", "--interfaces", "lo", "--export", "ipfix://h:4739?foo=1"], t.io)).toBe(2);
    expect(t.err()).toContain("unknown option foo");
    const u = io();
    expect(await runCli(["capture", "--interfaces", "lo", "--export", "ipfix+tcp://h:0"], u.io)).toBe(2);
    expect(u.err()).toContain("port must be between 1 and 65535");
  });

  it("passes the parsed options to the capture role, prints its batches and stops it after --duration", async () => {
    let seen: Parameters<CaptureRunner>[0] | undefined;
    const runner: CaptureRunner = async (opts, onRecords, signal) => {
      seen = opts;
      await onRecords([sampleRecord({ device: opts.deviceName })]);
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      // The final drain after abort must still reach stdout.
      await onRecords([sampleRecord({ device: opts.deviceName, bytes: 99 })]);
      return { records: 2 };
    };
    const t = io({ loadCapture: async () => runner });
    const started = Date.now();
    const code = await runCli(
      ["capture", "--interfaces", "veth*,lo", "--exclude", "veth9", "--duration", "200ms", "--device", "d1"],
      t.io,
    );
    expect(code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(seen).toMatchObject({
      include: ["veth*", "lo"],
      exclude: ["veth9"],
      intervalMs: 10_000,
      deviceName: "d1",
    });
    const lines = t.out().trimEnd().split("\n");
    expect(lines.map((l) => flowRecordSchema.parse(JSON.parse(l)).bytes)).toEqual([1500, 99]);
    expect(t.err()).toContain("capture ended: { records: 2 }");
  });

  it("stops the capture when the process is signalled and exits 0", async () => {
    const interrupted = new AbortController();
    const runner: CaptureRunner = (_opts, _onRecords, signal) =>
      new Promise((resolve) => signal.addEventListener("abort", () => resolve(undefined), { once: true }));
    const t = io({ signal: interrupted.signal, loadCapture: async () => runner });
    const running = runCli(["capture", "--interfaces", "lo"], t.io);
    setTimeout(() => interrupted.abort("SIGINT"), 50);
    expect(await running).toBe(0);
    expect(t.err()).toContain("stopping: draining the maps and detaching");
  });

  it("exits 3 naming the missing kernel feature the capture role reports", async () => {
    const t = io({
      loadCapture: async () => async () => {
        throw new MissingKernelFeatureError("BTF at /sys/kernel/btf/vmlinux");
      },
    });
    expect(await runCli(["capture", "--interfaces", "lo"], t.io)).toBe(3);
    expect(t.err()).toContain("missing kernel feature: BTF at /sys/kernel/btf/vmlinux");
  });

  it("stops the capture and exits 0 when the reader closes stdout (EPIPE)", async () => {
    const closedPipe = new Writable({
      write(_chunk, _encoding, done) {
        done(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    closedPipe.on("error", () => {});
    let batches = 0;
    const runner: CaptureRunner = async (_opts, onRecords, signal) => {
      while (!signal.aborted && batches < 100) {
        batches += 1;
        await onRecords([sampleRecord()]);
      }
      return undefined;
    };
    const t = io({ stdout: closedPipe, loadCapture: async () => runner });
    expect(await runCli(["capture", "--interfaces", "lo", "--format", "ndjson"], t.io)).toBe(0);
    expect(batches).toBe(1);
    expect(t.err()).toContain("stdout was closed by its reader; stopping");
  });

  it("exits 1 with the cause when the capture fails at run time", async () => {
    const t = io({
      loadCapture: async () => async () => {
        throw new Error("bpf_object__load failed: EINVAL 22");
      },
    });
    expect(await runCli(["capture", "--interfaces", "lo"], t.io)).toBe(1);
    expect(t.err()).toContain("capture failed: bpf_object__load failed: EINVAL 22\n");
  });

  it("prints the chain of causes of a failure, and its stack only with KERNFLOW_DEBUG", () => {
    const failure = new Error("attach to eth0 failed", { cause: new Error("EBUSY 16") });
    expect(describeFailure(failure, false)).toBe("attach to eth0 failed: caused by: EBUSY 16");
    expect(describeFailure(failure, true)).toMatch(/^Error: attach to eth0 failed\n\s+at /);
  });
});
