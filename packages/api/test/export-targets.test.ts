import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { createFlowStore } from "@kernflow/db";
import { type FlowRecord, flowRecordWith } from "@kernflow/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConfigChange, onConfigChange } from "../src/agent/config-bus";
import { ConsoleExporter } from "../src/export/console-exporter";
import { ingestFlowBatch } from "../src/flows/ingest";
import { callerAs, createHarness, type Harness, rest } from "./harness";

let h: Harness;
let planId: string;
let otherPlanId: string;
beforeAll(async () => {
  h = await createHarness();
  const plan = await h.db.plan.create({
    data: { name: "export-plan", maxDevices: 10, maxFlowsPerSecond: 10_000, retentionDays: 7 },
  });
  const other = await h.db.plan.create({
    data: { name: "other-plan", maxDevices: 10, maxFlowsPerSecond: 10_000, retentionDays: 7 },
  });
  planId = plan.id;
  otherPlanId = other.id;
});
afterAll(() => h?.cleanup());

/** A UDP collector on a random loopback port that keeps every datagram. */
async function udpCollector(): Promise<{ socket: Socket; port: number; messages: Buffer[]; close(): void }> {
  const socket = createSocket("udp4");
  const messages: Buffer[] = [];
  socket.on("message", (m) => messages.push(m));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { socket, port: socket.address().port, messages, close: () => socket.close() };
}

/** A free UDP port with nothing listening: the kernel answers datagrams with ICMP port unreachable. */
async function closedUdpPort(): Promise<number> {
  const c = await udpCollector();
  c.close();
  return c.port;
}

/** Data records in an IPFIX message, counted from the set headers and the sequence of the next one. */
function header(message: Buffer) {
  const sets: number[] = [];
  for (let at = 16; at < message.length; at += message.readUInt16BE(at + 2))
    sets.push(message.readUInt16BE(at));
  return {
    version: message.readUInt16BE(0),
    length: message.readUInt16BE(2),
    sequence: message.readUInt32BE(8),
    sets,
  };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function record(i: number): FlowRecord {
  return flowRecordWith({
    ts_start: "2026-11-26T01:00:00.000Z",
    ts_end: "2026-11-26T01:00:01.000Z",
    device: "edge-1",
    src_port: 1000 + i,
    dst_port: 443,
    bytes: 100,
    tcp_flags: 2,
  });
}

describe("export targets over REST", () => {
  it("creates a target (201), lists it for members, and refuses bad URLs with 400 naming the url field", async () => {
    const created = await rest(h, "POST", "/export-targets", {
      token: h.users.admin.token,
      body: { name: "nfcapd", kind: "ipfix_udp", url: "ipfix://collector.example:2055", planId },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "nfcapd",
      enabled: true,
      recordsSent: 0,
      planName: "export-plan",
    });

    const listed = await rest(h, "GET", "/export-targets", { token: h.users.member.token });
    expect(listed.status).toBe(200);
    expect(listed.body.map((t: { name: string }) => t.name)).toContain("nfcapd");

    const bad = async (kind: string, url: string) => {
      const r = await rest(h, "POST", "/export-targets", {
        token: h.users.admin.token,
        body: { name: `bad-${Math.random()}`, kind, url },
      });
      expect(r.status, url).toBe(400);
      return r.body.error.message as string;
    };
    expect(await bad("ipfix_udp", "http://collector:4739")).toMatch(
      /^url: scheme "http" does not match kind ipfix_udp/,
    );
    expect(await bad("ipfix_tcp", "ipfix://collector:4739")).toMatch(/^url: scheme "ipfix" does not match/);
    expect(await bad("ipfix_udp", "ipfix://bad_host!:4739")).toMatch(/^url: "bad_host!" is not a valid host/);
    expect(await bad("ipfix_udp", "ipfix://:4739")).toMatch(/^url: has no host/);
    expect(await bad("ipfix_udp", "ipfix://collector:70000")).toMatch(/^url: port "70000" is out of range/);
    expect(await bad("ipfix_udp", "ipfix://collector:0")).toMatch(/^url: port "0" is out of range/);
    expect(await bad("nats", "nats://nats:4222")).toMatch(/^url: a NATS target needs a subject/);
    expect(await bad("smtp", "ipfix://collector")).toMatch(/kind/);

    const member = await rest(h, "POST", "/export-targets", {
      token: h.users.member.token,
      body: { name: "nope", kind: "ipfix_udp", url: "ipfix://c:4739" },
    });
    expect(member.status).toBe(403);
    const duplicate = await rest(h, "POST", "/export-targets", {
      token: h.users.admin.token,
      body: { name: "nfcapd", kind: "ipfix_udp", url: "ipfix://c:4739" },
    });
    expect(duplicate.status).toBe(409);
  });

  it("pauses through PATCH, rechecks the URL against the kind, audits every change and tells waiting agents of their plan", async () => {
    const changes: ConfigChange[] = [];
    const stop = onConfigChange((c) => changes.push(c));
    const admin = await callerAs(h, h.users.admin, "192.0.2.7");
    const target = await admin.exportTargets.create({
      name: "pausable",
      kind: "ipfix_tcp",
      url: "ipfix+tcp://[2001:db8::1]:4739",
      planId,
      enabled: true,
      enterpriseId: 32473,
    });
    const paused = await rest(h, "PATCH", `/export-targets/${target.id}`, {
      token: h.users.admin.token,
      body: { enabled: false },
    });
    expect(paused.status).toBe(200);
    expect(paused.body.enabled).toBe(false);
    const badUrl = await rest(h, "PATCH", `/export-targets/${target.id}`, {
      token: h.users.admin.token,
      body: { url: "ipfix://[2001:db8::1]:4739" },
    });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.error.message).toMatch(/^url: scheme "ipfix" does not match kind ipfix_tcp/);
    const deleted = await rest(h, "DELETE", `/export-targets/${target.id}`, { token: h.users.admin.token });
    expect(deleted.status).toBe(200);
    stop();

    expect(changes).toEqual([{ planIds: [planId] }, { planIds: [planId] }, { planIds: [planId] }]);
    const audit = await h.db.auditEntry.findMany({ where: { targetId: target.id }, orderBy: { id: "asc" } });
    expect(audit.map((a) => a.action)).toEqual([
      "exportTargets.create",
      "exportTargets.update",
      "exportTargets.delete",
    ]);
    expect(audit[1]?.details).toEqual({ enabled: { from: true, to: false } });
  });
});

describe("send test record", () => {
  it("really sends one IPFIX message (templates + 1 record) to a UDP collector and counts it on the target", async () => {
    const collector = await udpCollector();
    try {
      const admin = await callerAs(h, h.users.admin);
      const target = await admin.exportTargets.create({
        name: "udp-test",
        kind: "ipfix_udp",
        url: `ipfix://127.0.0.1:${collector.port}`,
        planId: null,
        enabled: true,
        enterpriseId: null,
      });
      const res = await rest(h, "POST", `/export-targets/${target.id}/test`, { token: h.users.admin.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ ok: true, error: null, target: { recordsSent: 1, lastError: null } });
      expect(res.body.target.lastSuccessAt).not.toBeNull();
      await waitFor(() => collector.messages.length >= 1, "the test message");
      const first = header(collector.messages[0] as Buffer);
      expect(first).toMatchObject({ version: 10, sequence: 0, sets: [2, 256] });
      expect(first.length).toBe((collector.messages[0] as Buffer).length);
    } finally {
      collector.close();
    }
  });

  it("reports a refusing UDP collector as a failure on the target, without counting the record", async () => {
    const port = await closedUdpPort();
    const admin = await callerAs(h, h.users.admin);
    const target = await admin.exportTargets.create({
      name: "udp-refused",
      kind: "ipfix_udp",
      url: `ipfix://127.0.0.1:${port}`,
      planId: null,
      enabled: true,
      enterpriseId: null,
    });
    const result = await admin.exportTargets.sendTest({ id: target.id });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/ECONNREFUSED/);
    expect(result.target).toMatchObject({ recordsSent: 0, lastSuccessAt: null });
    expect(result.target.lastError).toMatch(/^test record: .*ECONNREFUSED/);
  });

  it("sends over TCP to a listening collector and reports a refused connection", async () => {
    const received: Buffer[] = [];
    const server: Server = createServer((socket) => socket.on("data", (d) => received.push(d)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const admin = await callerAs(h, h.users.admin);
      const target = await admin.exportTargets.create({
        name: "tcp-test",
        kind: "ipfix_tcp",
        url: `ipfix+tcp://127.0.0.1:${port}`,
        planId: null,
        enabled: true,
        enterpriseId: null,
      });
      expect((await admin.exportTargets.sendTest({ id: target.id })).ok).toBe(true);
      await waitFor(() => Buffer.concat(received).length > 0, "bytes on the TCP collector");
      const stream = Buffer.concat(received);
      // Templates first, alone, once per connection; then the data message with sequence 0.
      const templates = header(stream.subarray(0, stream.readUInt16BE(2)));
      expect(templates.sets).toEqual([2]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const refused = await admin.exportTargets.sendTest({ id: target.id });
      expect(refused.ok).toBe(false);
      expect(refused.target.recordsSent).toBe(1);
      expect(refused.error).toMatch(/ECONNREFUSED/);
    } finally {
      server.close();
    }
  });

  it("refuses a test of a nats target with 400: NATS export is not in this build", async () => {
    const admin = await callerAs(h, h.users.admin);
    const target = await admin.exportTargets.create({
      name: "nats-target",
      kind: "nats",
      url: "nats://127.0.0.1:4222/kernflow.flows",
      planId: null,
      enabled: true,
      enterpriseId: null,
    });
    const res = await rest(h, "POST", `/export-targets/${target.id}/test`, { token: h.users.admin.token });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/not available in this build/);
  });
});

describe("console exporter after ingest", () => {
  it("sends a plan's records to its enabled IPFIX targets only, counts them, and records a refusing one's error", async () => {
    const mine = await udpCollector();
    const paused = await udpCollector();
    const others = await udpCollector();
    const refusedPort = await closedUdpPort();
    const exporter = new ConsoleExporter(() => {});
    try {
      await h.db.exportTarget.deleteMany({ where: { planId: null } });
      const make = (name: string, port: number, plan: string, enabled = true) =>
        h.db.exportTarget.create({
          data: { name, kind: "ipfix_udp", url: `ipfix://127.0.0.1:${port}`, planId: plan, enabled },
        });
      const target = await make("plan-target", mine.port, planId);
      const pausedTarget = await make("paused-target", paused.port, planId, false);
      await make("other-plan-target", others.port, otherPlanId);
      const refused = await make("refused-target", refusedPort, planId);

      const records = Array.from({ length: 30 }, (_, i) => record(i));
      await exporter.exportRecords(h.db, planId, records);
      await waitFor(() => mine.messages.length >= 1, "datagrams on the plan's collector");
      // The refusal shows on the next send to that collector.
      await new Promise((r) => setTimeout(r, 200));
      await exporter.exportRecords(h.db, planId, records.slice(0, 5));
      await waitFor(() => mine.messages.length >= 2, "the second batch");

      const sequences = mine.messages.map((m) => header(m).sequence);
      expect(sequences[0]).toBe(0);
      expect(sequences.at(-1)).toBeLessThanOrEqual(30);
      const row = await h.db.exportTarget.findUniqueOrThrow({ where: { id: target.id } });
      expect(Number(row.recordsSent)).toBe(35);
      expect(row.lastSuccessAt).not.toBeNull();
      expect(paused.messages).toHaveLength(0);
      expect(others.messages).toHaveLength(0);
      expect(
        Number((await h.db.exportTarget.findUniqueOrThrow({ where: { id: pausedTarget.id } })).recordsSent),
      ).toBe(0);
      const refusedRow = await h.db.exportTarget.findUniqueOrThrow({ where: { id: refused.id } });
      expect(refusedRow.lastError).toMatch(/ECONNREFUSED/);
      expect(refusedRow.lastErrorAt).not.toBeNull();
    } finally {
      await exporter.close();
      mine.close();
      paused.close();
      others.close();
    }
  });
});

describe("flow ingest hands stored batches to the exporter", () => {
  it("exports a newly stored batch to the plan's IPFIX target once, and a retried batch id not again", async () => {
    const collector = await udpCollector();
    const store = createFlowStore(h.database.url);
    try {
      await h.db.exportTarget.deleteMany({});
      await h.db.exportTarget.create({
        data: {
          name: "ingest-target",
          kind: "ipfix_udp",
          url: `ipfix://127.0.0.1:${collector.port}`,
          planId,
        },
      });
      const device = await h.db.device.create({ data: { name: "edge-ingest", planId } });
      const now = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString();
      const records = Array.from({ length: 12 }, (_, i) => ({
        ...record(i),
        device: "edge-ingest",
        ts_start: now,
        ts_end: now,
      }));
      const batch = JSON.stringify({ batch_id: crypto.randomUUID(), records });
      const post = () =>
        ingestFlowBatch(
          {
            db: h.db,
            flowStore: store,
            device: { id: device.id, name: device.name, planId },
          },
          new Request("http://console.test/api/agent/v1/flows", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: batch,
          }),
        );
      expect((await post()).status).toBe(200);
      const target = () => h.db.exportTarget.findFirstOrThrow({ where: { name: "ingest-target" } });
      await waitFor(() => collector.messages.length > 0, "the exported batch");
      for (let i = 0; i < 100 && Number((await target()).recordsSent) < 12; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(Number((await target()).recordsSent)).toBe(12);

      const retried = await post();
      expect(await retried.json()).toMatchObject({ duplicate: true });
      await new Promise((r) => setTimeout(r, 300));
      expect(Number((await target()).recordsSent)).toBe(12);
    } finally {
      await store.close();
      collector.close();
    }
  });
});
