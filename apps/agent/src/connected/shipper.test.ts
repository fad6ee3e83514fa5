import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { checkedFlowRecords, checkFlowBatchJson, type FlowRecord } from "@kernflow/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { sampleRecord } from "../sinks/fixtures.test-support";
import { Backoff } from "./backoff";
import { AgentClient } from "./client";
import { rowLayoutBatchId, rowLayoutRecords, writeRowLayoutFile } from "./row-layout.test-support";
import { CredentialRefusedError, FlowShipper } from "./shipper";
import { Spool } from "./spool";

type Reply = { status: number; headers?: Record<string, string>; body: unknown };

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A real HTTP server answering flow batches from a script of replies, recording what it received. */
async function consoleScript(replies: Reply[]) {
  const received: {
    batchId: string;
    records: number;
    at: number;
    auth: string | undefined;
    form: string;
    sent: FlowRecord[];
  }[] = [];
  const server: Server = createServer(async (req, res) => {
    // The console's own reader: either body form, checked as strictly.
    const checked = checkFlowBatchJson(JSON.parse(gunzipSync(await body(req)).toString()));
    const sent = checkedFlowRecords(checked);
    received.push({
      batchId: checked.batch.batch_id,
      records: sent.length,
      at: Date.now(),
      auth: req.headers.authorization,
      form: checked.form,
      sent,
    });
    const reply = replies.shift() ?? {
      status: 200,
      body: { accepted: sent.length, duplicate: false },
    };
    res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
    res.end(JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

/** A spool in a fresh directory; `prepare` leaves files in it first, as an earlier run would have. */
function spoolIn(prepare: (dir: string) => void = () => {}): Spool {
  const dir = mkdtempSync(join(tmpdir(), "kf-ship-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  prepare(dir);
  return new Spool(dir, 1 << 20, () => {});
}

const fastBackoff = () => new Backoff(20, 100, () => 1);

describe("FlowShipper", () => {
  it("retries the same batch id after a 500 and after a 429's Retry-After, in order, losing nothing", async () => {
    const server = await consoleScript([
      { status: 500, body: { error: { code: "internal", message: "db restarting" } } },
      {
        status: 429,
        headers: { "retry-after": "1" },
        body: { error: { code: "rate_limited", message: "slow down" } },
      },
    ]);
    const spool = spoolIn();
    const failures: string[] = [];
    const shipper = new FlowShipper(
      spool,
      () => new AgentClient(server.url, "c".repeat(40)),
      {
        log: () => {},
        onFailure: (m) => failures.push(m),
        onSuccess: () => {},
      },
      fastBackoff(),
    );
    shipper.enqueue([sampleRecord(), sampleRecord({ src_port: 2 })]);
    shipper.enqueue([sampleRecord({ src_port: 3 })]);
    const stop = new AbortController();
    const running = shipper.run(stop.signal);
    const deadline = Date.now() + 10_000;
    while (spool.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    await running;
    expect(spool.size).toBe(0);
    const [first, second, third, fourth] = server.received;
    expect(server.received).toHaveLength(4);
    expect(new Set([first?.batchId, second?.batchId, third?.batchId]).size).toBe(1);
    expect(fourth?.batchId).not.toBe(first?.batchId);
    // Retry-After: 1 s between the 429 and the retry.
    expect((third?.at ?? 0) - (second?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(first?.auth).toBe(`Bearer ${"c".repeat(40)}`);
    expect(shipper.shipped).toEqual({ batches: 2, records: 3, duplicates: 0 });
    expect(server.received.map((r) => r.form)).toEqual(["packed", "packed", "packed", "packed"]);
    expect(fourth?.sent).toEqual([sampleRecord({ src_port: 3 })]);
    expect(failures.join("\n")).toMatch(/500 internal: db restarting[\s\S]*429 rate_limited/);
  });

  it("keeps batches spooled while the console is unreachable", async () => {
    const spool = spoolIn();
    const shipper = new FlowShipper(
      spool,
      () => new AgentClient("http://127.0.0.1:1", "c".repeat(40)),
      {
        log: () => {},
        onFailure: () => {},
        onSuccess: () => {},
      },
      fastBackoff(),
    );
    shipper.enqueue([sampleRecord()]);
    const stop = new AbortController();
    const running = shipper.run(stop.signal);
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    await running;
    expect(spool.size).toBe(1);
    expect(spool.records).toBe(1);
  });

  it("stops with CredentialRefusedError on 401 and keeps the batch", async () => {
    const server = await consoleScript([
      { status: 401, body: { error: { code: "unauthorized", message: "no" } } },
    ]);
    const spool = spoolIn();
    const shipper = new FlowShipper(spool, () => new AgentClient(server.url, "c".repeat(40)), {
      log: () => {},
      onFailure: () => {},
      onSuccess: () => {},
    });
    shipper.enqueue([sampleRecord()]);
    await expect(shipper.run(new AbortController().signal)).rejects.toThrow(CredentialRefusedError);
    expect(spool.size).toBe(1);
  });

  /** Ships a batch of 1 record, then one of 2, against a console answering `replies` first. */
  async function shipTwoBatches(replies: Reply[]) {
    const server = await consoleScript(replies);
    const spool = spoolIn();
    const logs: string[] = [];
    const shipper = new FlowShipper(spool, () => new AgentClient(server.url, "c".repeat(40)), {
      log: (m) => logs.push(m),
      onFailure: () => {},
      onSuccess: () => {},
    });
    shipper.enqueue([sampleRecord()]);
    shipper.enqueue([sampleRecord(), sampleRecord()]);
    await shipper.flush(5_000);
    return { server, spool, shipper, log: logs.join("\n") };
  }

  it("drops a batch the console refuses (400) in both forms with a counted loss, and goes on packed", async () => {
    // Refused for what it holds, not its layout: a console reading packed batches says so to either form.
    const refused = {
      status: 400,
      body: { error: { code: "bad_request", message: "record 0: ts_start is in the future" } },
    };
    const { server, spool, shipper, log } = await shipTwoBatches([refused, refused]);
    expect(spool.size).toBe(0);
    expect(spool.lost).toEqual({ batches: 1, records: 1 });
    expect(shipper.shipped.records).toBe(2);
    expect(log).toMatch(/refused batch .*ts_start is in the future.*dropped/);
    // The bad batch went packed, then whole (same id); the next goes packed again, nothing made sticky.
    expect(server.received.map((r) => r.form)).toEqual(["packed", "records", "packed"]);
    expect(server.received[0]?.batchId).toBe(server.received[1]?.batchId);
    expect(server.received[2]?.batchId).not.toBe(server.received[0]?.batchId);
    expect(log).not.toMatch(/from now on/);
  });

  it("sends whole records, nothing lost, to a console older than the packed form (400 to packed)", async () => {
    const { server, spool, shipper, log } = await shipTwoBatches([
      { status: 400, body: { error: { code: "bad_request", message: "records: Required" } } },
    ]);
    expect(server.received.map((r) => r.form)).toEqual(["packed", "records", "records"]);
    expect(server.received[0]?.batchId).toBe(server.received[1]?.batchId);
    expect(spool.lost).toEqual({ batches: 0, records: 0 });
    expect(shipper.shipped.records).toBe(3);
    expect(log).toMatch(/sending whole records from now on/);
  });

  it("posts a batch spooled as whole records (by an earlier version, or for NATS) packed, same id and records", async () => {
    const server = await consoleScript([]);
    const spool = spoolIn();
    const records = [sampleRecord(), sampleRecord({ src_port: 9 })];
    const spooled = spool.add({ batch_id: "00000000-0000-4000-8000-0000000000aa", records });
    expect(spooled.layout).toBe("records");
    const shipper = new FlowShipper(spool, () => new AgentClient(server.url, "c".repeat(40)), {
      log: () => {},
      onFailure: () => {},
      onSuccess: () => {},
    });
    await shipper.flush(5_000);
    expect(spool.size).toBe(0);
    expect(server.received.map(({ batchId, form, sent }) => ({ batchId, form, sent }))).toEqual([
      { batchId: spooled.batchId, form: "packed", sent: records },
    ]);
  });

  it("sends a batch the previous version spooled in the row layout, same id and records, before newer ones", async () => {
    const server = await consoleScript([]);
    const spool = spoolIn((dir) => writeRowLayoutFile(dir, 1));
    const shipper = new FlowShipper(spool, () => new AgentClient(server.url, "c".repeat(40)), {
      log: () => {},
      onFailure: () => {},
      onSuccess: () => {},
    });
    shipper.enqueue([sampleRecord()]);
    await shipper.flush(5_000);
    expect(spool.size).toBe(0);
    expect(server.received.map(({ batchId, form, sent }) => ({ batchId, form, sent }))).toEqual([
      { batchId: rowLayoutBatchId, form: "packed", sent: rowLayoutRecords },
      { batchId: expect.any(String), form: "packed", sent: [sampleRecord()] },
    ]);
    expect(shipper.shipped).toEqual({ batches: 2, records: 3, duplicates: 0 });
  });

  it("sends a row-layout spool file as whole records to a console that refuses the packed form", async () => {
    const server = await consoleScript([
      { status: 400, body: { error: { code: "bad_request", message: "records: Required" } } },
    ]);
    const spool = spoolIn((dir) => writeRowLayoutFile(dir, 1));
    const shipper = new FlowShipper(spool, () => new AgentClient(server.url, "c".repeat(40)), {
      log: () => {},
      onFailure: () => {},
      onSuccess: () => {},
    });
    await shipper.flush(5_000);
    expect(server.received.map(({ batchId, form, sent }) => ({ batchId, form, sent }))).toEqual([
      { batchId: rowLayoutBatchId, form: "packed", sent: rowLayoutRecords },
      { batchId: rowLayoutBatchId, form: "records", sent: rowLayoutRecords },
    ]);
    expect(spool.lost).toEqual({ batches: 0, records: 0 });
  });
});
