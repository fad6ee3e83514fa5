import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { emptyEndpoint } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import { sampleRecord } from "../src/sinks/fixtures.test-support";
import { ConsoleStandIn, eventually, postBatch } from "./aggregate-support";
import { repoRoot } from "./capture-harness";

const bin = join(repoRoot, "apps/agent/bin/kernflow-agent.js");

function start(args: string[]) {
  const child = spawn(process.execPath, [bin, "aggregate", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += String(d);
  });
  child.stderr.on("data", (d) => {
    stderr += String(d);
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exit, stdout: () => stdout, stderr: () => stderr };
}

describe("kernflow-agent aggregate (the bin)", () => {
  it("prints its flags for --help and exits 0", async () => {
    const r = start(["--help"]);
    expect(await r.exit).toBe(0);
    for (const flag of [
      "--listen",
      "--server",
      "--kubetags",
      "--cluster-id",
      "--join-window",
      "--max-entries",
    ])
      expect(r.stdout()).toContain(flag);
  });

  it("exits 2 naming the flag on bad usage", async () => {
    const missing = start(["--server", "http://127.0.0.1:1"]);
    expect(await missing.exit).toBe(2);
    expect(missing.stderr()).toContain("--listen HOST:PORT is required");
    const badWindow = start(["--listen", "127.0.0.1:0", "--server", "http://x:1", "--join-window", "10"]);
    expect(await badWindow.exit).toBe(2);
    expect(badWindow.stderr()).toContain("--join-window");
    const badServer = start(["--listen", "127.0.0.1:0", "--server", "ftp://x"]);
    expect(await badServer.exit).toBe(2);
    expect(badServer.stderr()).toContain("--server must be an http(s) URL");
  });

  it("forwards what it received to the console and, on SIGTERM, what still waited, then exits 0", async () => {
    const console = await new ConsoleStandIn(new Set(["k".repeat(40)])).start();
    try {
      const agg = start(["--listen", "127.0.0.1:0", "--server", console.url, "--join-window", "1h"]);
      await eventually("listening", () => /aggregating on http:\/\/[^:]+:\d+/.test(agg.stderr()), 30_000);
      const port = /aggregating on http:\/\/[^:]+:(\d+)/.exec(agg.stderr())?.[1];
      const now = new Date().toISOString();
      const r = await postBatch(`http://127.0.0.1:${port}`, "k".repeat(40), {
        batch_id: randomUUID(),
        records: [
          sampleRecord({
            ts_start: now,
            ts_end: now,
            device: "d",
            protocol: 17,
            src_addr: "192.0.2.1",
            dst_addr: "192.0.2.2",
            src_port: 5353,
            dst_port: 53,
            bytes: 60,
            packets: 1,
            tcp_flags: 0,
            rtt_us: null,
            src: emptyEndpoint(),
          }),
        ],
      });
      expect(r.status).toBe(200);
      // A 1 h window: only the stop forwards it.
      await new Promise((res) => setTimeout(res, 300));
      expect(console.records).toHaveLength(0);
      agg.child.kill("SIGTERM");
      expect(await agg.exit).toBe(0);
      expect(console.records).toHaveLength(1);
      expect(agg.stderr()).toContain('"unjoined":1');
    } finally {
      await console.stop();
    }
  });
});
