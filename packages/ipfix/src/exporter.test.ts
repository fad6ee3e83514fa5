import { createSocket } from "node:dgram";
import { createServer, type Server, type Socket } from "node:net";
import { emptyEndpoint, type FlowRecord, flowRecordWith } from "@kernflow/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { IpfixExporter } from "./exporter";

function record(i: number): FlowRecord {
  return flowRecordWith({
    ts_start: "2026-11-26T01:00:00.000Z",
    ts_end: "2026-11-26T01:00:01.000Z",
    device: "edge-1",
    protocol: 17,
    src_port: i % 65536,
    dst_port: 53,
    bytes: 80,
    src: { ...emptyEndpoint(), process_name: "resolver" },
  });
}

/** Set ids of a message and its sequence number, as a collector reads them. */
function parse(message: Buffer) {
  const sets: number[] = [];
  for (let at = 16; at < message.length; at += message.readUInt16BE(at + 2))
    sets.push(message.readUInt16BE(at));
  return { sequence: message.readUInt32BE(8), sets };
}

/** Splits a TCP byte stream into IPFIX messages by their length field. */
function splitStream(stream: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  for (let at = 0; at + 4 <= stream.length; at += stream.readUInt16BE(at + 2)) {
    messages.push(stream.subarray(at, at + stream.readUInt16BE(at + 2)));
  }
  return messages;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("IpfixExporter over UDP", () => {
  it("sends templates first and again every N messages, with sequence numbers counting every record", async () => {
    const collector = createSocket("udp4");
    const received: Buffer[] = [];
    collector.on("message", (m) => received.push(m));
    await new Promise<void>((r) => collector.bind(0, "127.0.0.1", r));
    cleanups.push(() => collector.close());
    const exporter = new IpfixExporter({
      transport: "udp",
      host: "127.0.0.1",
      port: collector.address().port,
      templateRefreshMessages: 4,
    });
    cleanups.push(() => exporter.close());
    for (let batch = 0; batch < 6; batch++) {
      const result = await exporter.send(Array.from({ length: 25 }, (_, i) => record(batch * 25 + i)));
      expect(result).toEqual({ sent: 25, dropped: 0, error: null });
    }
    await until(() => received.length === exporter.stats.messagesSent, "every datagram");
    const messages = received.map(parse);
    expect(messages[0]?.sets[0]).toBe(2);
    // Templates again once 4 messages went without them, at the start of the next batch.
    const withTemplates = messages.flatMap((m, i) => (m.sets[0] === 2 ? [i] : []));
    expect(withTemplates.length).toBeGreaterThan(1);
    for (let k = 1; k < withTemplates.length; k++) {
      expect((withTemplates[k] as number) - (withTemplates[k - 1] as number)).toBeGreaterThanOrEqual(4);
    }
    expect(messages.map((m) => m.sequence)).toEqual(
      [...messages.map((m) => m.sequence)].sort((a, b) => a - b),
    );
    expect(exporter.sequenceNumber).toBe(150);
  });

  it("drops records while backing off from a refusing collector, never throwing, and counts them", async () => {
    const probe = createSocket("udp4");
    await new Promise<void>((r) => probe.bind(0, "127.0.0.1", r));
    const port = probe.address().port;
    probe.close();
    const logs: string[] = [];
    const exporter = new IpfixExporter({
      transport: "udp",
      host: "127.0.0.1",
      port,
      minBackoffMs: 60_000,
      log: (m) => logs.push(m),
    });
    cleanups.push(() => exporter.close());
    // The refusal (ICMP) answers the first datagram and shows on a later send.
    let result = await exporter.send(Array.from({ length: 200 }, (_, i) => record(i)));
    if (result.error === null) result = await exporter.send([record(1)]);
    expect(result.error?.message).toMatch(/ECONNREFUSED/);
    const during = await exporter.send([record(2), record(3)]);
    expect(during.dropped).toBe(2);
    expect(during.error?.message).toMatch(/retrying later/);
    expect(exporter.stats.lastError).toMatch(/ECONNREFUSED/);
    expect(logs.some((l) => /retrying in \d+ ms/.test(l))).toBe(true);
  });
});

describe("IpfixExporter over TCP", () => {
  it("sends templates once per connection and reconnects after the collector restarts, starting a new session", async () => {
    const streams: Buffer[][] = [];
    const sockets: Socket[] = [];
    const listen = (port: number) =>
      new Promise<Server>((resolve) => {
        const server = createServer((socket) => {
          const chunks: Buffer[] = [];
          streams.push(chunks);
          sockets.push(socket);
          socket.on("data", (d) => chunks.push(d));
        });
        server.listen(port, "127.0.0.1", () => resolve(server));
      });
    let server = await listen(0);
    const port = (server.address() as { port: number }).port;
    const exporter = new IpfixExporter({ transport: "tcp", host: "127.0.0.1", port, minBackoffMs: 50 });
    cleanups.push(() => exporter.close());
    expect((await exporter.send([record(1), record(2)])).sent).toBe(2);
    expect((await exporter.send([record(3)])).sent).toBe(1);
    await until(() => splitStream(Buffer.concat(streams[0] ?? [])).length === 3, "three messages");
    expect(splitStream(Buffer.concat(streams[0] ?? [])).map(parse)).toEqual([
      { sequence: 0, sets: [2] },
      { sequence: 0, sets: [256] },
      { sequence: 2, sets: [256] },
    ]);

    // The collector goes away: sends fail (and back off) but never throw.
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    let failed = 0;
    for (let i = 0; i < 5 && failed === 0; i++) {
      failed += (await exporter.send([record(4)])).dropped;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(failed).toBeGreaterThan(0);

    server = await listen(port);
    cleanups.push(() => server.close());
    let sent = 0;
    for (let i = 0; i < 100 && sent === 0; i++) {
      sent = (await exporter.send([record(5)])).sent;
      if (sent === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(sent).toBe(1);
    await until(() => splitStream(Buffer.concat(streams[1] ?? [])).length === 2, "the new session");
    expect(splitStream(Buffer.concat(streams[1] ?? [])).map(parse)).toEqual([
      { sequence: 0, sets: [2] },
      { sequence: 0, sets: [256] },
    ]);
  });
});
