import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCaptureFlags, parseDuration, parseExportUrl, UsageError } from "./cli-flags";

describe("parseDuration", () => {
  it("reads milliseconds, seconds, minutes and hours", () => {
    expect(["500ms", "10s", "1.5s", "5m", "2h"].map(parseDuration)).toEqual([
      500, 10_000, 1_500, 300_000, 7_200_000,
    ]);
  });
  it("refuses a number without a unit and says how to write one", () => {
    expect(() => parseDuration("10")).toThrow(UsageError);
    expect(() => parseDuration("10")).toThrow(/500ms, 10s, 5m/);
    expect(() => parseDuration("-1s")).toThrow(UsageError);
    expect(() => parseDuration("1d")).toThrow(UsageError);
  });
});

describe("parseExportUrl", () => {
  it("reads IPFIX over UDP with its default port 4739 and over TCP", () => {
    expect(parseExportUrl("ipfix://collector.example")).toEqual({
      kind: "ipfix-udp",
      host: "collector.example",
      port: 4739,
    });
    expect(parseExportUrl("ipfix+tcp://10.1.2.3:9995")).toEqual({
      kind: "ipfix-tcp",
      host: "10.1.2.3",
      port: 9995,
    });
    expect(parseExportUrl("ipfix://[fd00::1]:4740")).toEqual({
      kind: "ipfix-udp",
      host: "fd00::1",
      port: 4740,
    });
  });
  it("reads the IPFIX options ?pen= (enterprise number) and ?mtu= (largest message), and refuses others", () => {
    expect(parseExportUrl("ipfix://c:4739?pen=32473&mtu=8900")).toEqual({
      kind: "ipfix-udp",
      host: "c",
      port: 4739,
      enterpriseId: 32473,
      maxMessageBytes: 8900,
    });
    expect(() => parseExportUrl("ipfix://c?pen=0")).toThrow(/pen must be at least 1/);
    expect(() => parseExportUrl("ipfix://c?mtu=500")).toThrow(/mtu must be at least 1000/);
    expect(() => parseExportUrl("ipfix://c?ttl=3")).toThrow(/unknown option ttl/);
    expect(() => parseExportUrl("nats://n:4222/s?pen=1")).toThrow(/query/);
  });

  it("reads a NATS target with its subject", () => {
    expect(parseExportUrl("nats://nats:4222/kernflow.flows")).toEqual({
      kind: "nats",
      host: "nats",
      port: 4222,
      subject: "kernflow.flows",
    });
  });
  it("rejects other schemes, missing subjects, paths on IPFIX and bad ports", () => {
    expect(() => parseExportUrl("http://x:80")).toThrow(/unsupported scheme "http"/);
    expect(() => parseExportUrl("nats://x:4222")).toThrow(/subject/);
    expect(() => parseExportUrl("nats://x:4222/a.*")).toThrow(/subject/);
    expect(() => parseExportUrl("ipfix://x:4739/path")).toThrow(/no path/);
    expect(() => parseExportUrl("ipfix://x:99999")).toThrow(/not a URL/);
    expect(() => parseExportUrl("collector:4739")).toThrow(UsageError);
  });
});

describe("parseCaptureFlags", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kf-flags-"));
    await writeFile(join(dir, "prog.bpf.o"), "x");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("applies defaults: 10s interval, no duration, this host's name, ndjson when not a terminal", () => {
    expect(parseCaptureFlags(["--interfaces", "eth*"], false)).toEqual({
      include: ["eth*"],
      exclude: [],
      intervalMs: 10_000,
      durationMs: null,
      format: "ndjson",
      bytecodePath: undefined,
      exports: [],
      deviceName: hostname(),
      mapEntries: undefined,
      debug: false,
    });
    expect(parseCaptureFlags(["--interfaces", "eth*"], true)?.format).toBe("table");
  });
  it("splits comma lists and accepts repeated pattern flags", () => {
    const flags = parseCaptureFlags(
      ["--interfaces", "eth*,cali*", "--interfaces", "tun?", "--exclude", "cali1*", "--exclude=eth9,eth8"],
      false,
    );
    expect(flags?.include).toEqual(["eth*", "cali*", "tun?"]);
    expect(flags?.exclude).toEqual(["cali1*", "eth9", "eth8"]);
  });
  it("reads every flag", () => {
    const file = join(dir, "prog.bpf.o");
    expect(
      parseCaptureFlags(
        [
          "--interfaces=lo",
          "--interval",
          "500ms",
          "--duration",
          "30s",
          "--format",
          "table",
          "--bytecode",
          file,
        ].concat(["--device", "edge-1", "--map-entries", "65536", "--export", "nats://n:4222/f"]),
        false,
      ),
    ).toMatchObject({
      intervalMs: 500,
      durationMs: 30_000,
      format: "table",
      bytecodePath: file,
      deviceName: "edge-1",
      mapEntries: 65_536,
      exports: [{ kind: "nats", subject: "f" }],
    });
  });
  it("reads KERNFLOW_DEBUG and refuses values it cannot read as a boolean", () => {
    expect(parseCaptureFlags(["--interfaces", "lo"], false, { KERNFLOW_DEBUG: "1" })?.debug).toBe(true);
    expect(parseCaptureFlags(["--interfaces", "lo"], false, { KERNFLOW_DEBUG: "false" })?.debug).toBe(false);
    expect(() => parseCaptureFlags(["--interfaces", "lo"], false, { KERNFLOW_DEBUG: "verbose" })).toThrow(
      /KERNFLOW_DEBUG must be 1, 0, true or false, got "verbose"/,
    );
  });
  it("returns null for --help even when other flags are wrong", () => {
    expect(parseCaptureFlags(["--help"], false)).toBeNull();
    expect(parseCaptureFlags(["-h", "--interval", "x"], false)).toBeNull();
  });
  it("explains each wrong flag", () => {
    const failure = (argv: string[]) => {
      try {
        parseCaptureFlags(argv, false);
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${argv.join(" ")}`);
    };
    expect(failure([])).toMatch(/--interfaces is required/);
    expect(failure(["--interfaces", " , "])).toMatch(/--interfaces is required/);
    expect(failure(["--interfaces", "eth*", "--interval", "50ms"])).toMatch(
      /--interval must be between 100ms and 1h/,
    );
    expect(failure(["--interfaces", "eth*", "--format", "csv"])).toMatch(
      /--format must be ndjson or table, got "csv"/,
    );
    expect(failure(["--interfaces", "eth*", "--bytecode", join(dir, "missing.o")])).toMatch(
      /cannot be read \(ENOENT\)/,
    );
    expect(failure(["--interfaces", "eth*", "--bytecode", dir])).toMatch(/not a regular file/);
    expect(failure(["--interfaces", "eth*", "--map-entries", "12"])).toMatch(/at least 1024/);
    expect(failure(["--interfaces", "eth*", "--colour"])).toMatch(/Unknown option '--colour'/);
    expect(failure(["--interfaces", "eth*", "stray"])).toMatch(/unexpected argument "stray"/);
    expect(failure(["--interfaces"])).toMatch(/--interfaces/);
    expect(failure(["--interfaces", "eth*", "--device", " "])).toMatch(/--device must not be empty/);
  });
});
