import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { sampleRecord } from "../sinks/fixtures.test-support";
import { AgentErrors } from "./agent-errors";
import { PushedSinks } from "./pushed-sinks";

describe("PushedSinks", () => {
  it("starts an IPFIX sink the console pushes and sends records to the collector, and stops it when removed", async () => {
    const collector = createSocket("udp4");
    await new Promise<void>((r) => collector.bind(0, "127.0.0.1", r));
    const port = collector.address().port;
    const datagrams: Buffer[] = [];
    collector.on("message", (m) => datagrams.push(m));
    const errors = new AgentErrors();
    const logs: string[] = [];
    const sinks = new PushedSinks(errors, (m) => logs.push(m));
    try {
      const sink = {
        id: "s1",
        kind: "ipfix_udp" as const,
        url: `ipfix://127.0.0.1:${port}`,
        enterprise_id: null,
      };
      await sinks.apply([sink]);
      expect(sinks.targets).toHaveLength(1);
      await sinks.write([sampleRecord(), sampleRecord({ src_port: 2 })]);
      const deadline = Date.now() + 5_000;
      while (datagrams.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(datagrams.length).toBeGreaterThan(0);
      // IPFIX message header: version 10.
      expect(datagrams[0]?.readUInt16BE(0)).toBe(10);
      expect(errors.size).toBe(0);
      await sinks.apply([]);
      expect(sinks.targets).toEqual([]);
      expect(logs.join("\n")).toMatch(/record\(s\) sent/);
    } finally {
      await sinks.close();
      collector.close();
    }
  });

  it("reports a sink it cannot run as a current sink error and clears it when the sink goes away", async () => {
    const errors = new AgentErrors();
    const sinks = new PushedSinks(errors, () => {});
    await sinks.apply([
      { id: "n1", kind: "nats", url: "nats://127.0.0.1:4222/kernflow flows", enterprise_id: null },
      { id: "x1", kind: "ipfix_tcp", url: "ipfix://127.0.0.1:4739", enterprise_id: null },
    ]);
    const listed = errors.list();
    expect(listed.map((e) => e.kind)).toEqual(["sink", "sink"]);
    expect(listed.map((e) => e.message).join("\n")).toMatch(/needs a subject path/);
    expect(listed.map((e) => e.message).join("\n")).toMatch(/does not match the sink kind ipfix_tcp/);
    await sinks.apply([]);
    expect(errors.size).toBe(0);
    await sinks.close();
  });
});
