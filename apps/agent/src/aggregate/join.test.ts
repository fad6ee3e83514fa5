import { emptyEndpoint, type FlowRecord, flowRecordWith } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import { FlowJoiner, type JoinOutcome } from "./join";

function record(vantage: "src" | "dst", overrides: Partial<FlowRecord> = {}): FlowRecord {
  const src = emptyEndpoint();
  const dst = emptyEndpoint();
  // Each side knows only its own end's process.
  if (vantage === "src") Object.assign(src, { pid: 11, process_name: "client", container_id: "c1" });
  else Object.assign(dst, { pid: 22, process_name: "server", container_id: "c2" });
  return flowRecordWith({
    ts_start: "2026-01-01T00:00:00.000Z",
    ts_end: "2026-01-01T00:00:10.000Z",
    device: vantage === "src" ? "node-a" : "node-b",
    vantage,
    direction: vantage === "src" ? "egress" : "ingress",
    src_port: 40000,
    dst_port: 80,
    bytes: 100,
    src,
    dst,
    ...overrides,
  });
}

function harness(windowMs = 1_000, maxEntries = 100) {
  let now = 0;
  const out: { record: FlowRecord; outcome: JoinOutcome; id: string }[] = [];
  const joiner = new FlowJoiner({ windowMs, maxEntries, slackMs: 0, now: () => now }, (r, o, outcome) =>
    out.push({ record: r, outcome, id: o.id }),
  );
  return {
    joiner,
    out,
    advance: (ms: number) => {
      now += ms;
      joiner.expire();
    },
  };
}

describe("FlowJoiner", () => {
  it("gives each side the other end's process and keeps both records", () => {
    const { joiner, out } = harness();
    joiner.add(record("src"), { sender: 0, id: "a:0" });
    expect(out).toHaveLength(0);
    joiner.add(record("dst"), { sender: 1, id: "b:0" });
    expect(out.map((o) => [o.id, o.outcome])).toEqual([
      ["a:0", "joined"],
      ["b:0", "joined"],
    ]);
    const [a, b] = out.map((o) => o.record);
    expect(a?.src).toMatchObject({ pid: 11, process_name: "client" });
    expect(a?.dst).toMatchObject({ pid: 22, process_name: "server", container_id: "c2" });
    expect(b?.src).toMatchObject({ pid: 11, process_name: "client", container_id: "c1" });
    expect(b?.dst).toMatchObject({ pid: 22, process_name: "server" });
    expect(joiner.metrics()).toMatchObject({ joined: 2, unjoined: 0, waiting: 0 });
  });

  it("does not join the opposite direction or a non-overlapping interval", () => {
    const { joiner, out, advance } = harness();
    joiner.add(record("src"), { sender: 0, id: "a:0" });
    // The reply direction: swapped addresses and ports, a different conversation key.
    joiner.add(record("dst", { src_addr: "10.0.0.2", dst_addr: "10.0.0.1", src_port: 80, dst_port: 40000 }), {
      sender: 1,
      id: "b:0",
    });
    joiner.add(record("dst", { ts_start: "2026-01-01T00:01:00.000Z", ts_end: "2026-01-01T00:01:10.000Z" }), {
      sender: 1,
      id: "b:1",
    });
    expect(out).toHaveLength(0);
    advance(1_000);
    expect(out.map((o) => o.outcome)).toEqual(["unjoined", "unjoined", "unjoined"]);
    expect(out[0]?.record.dst.pid).toBeNull();
  });

  it("forwards a record unjoined once its window passes, and forgets the conversation", () => {
    const { joiner, out, advance } = harness(1_000);
    joiner.add(record("src"), { sender: 0, id: "a:0" });
    advance(999);
    expect(out).toHaveLength(0);
    advance(1);
    expect(out.map((o) => o.outcome)).toEqual(["unjoined"]);
    expect(joiner.metrics()).toMatchObject({ unjoined: 1, held: 0, conversations: 0 });
    // The partner arriving after the window is unjoined too: nothing is held for it any more.
    joiner.add(record("dst"), { sender: 1, id: "b:0" });
    advance(1_000);
    expect(out.map((o) => o.outcome)).toEqual(["unjoined", "unjoined"]);
  });

  it("joins a partner arriving after the first side was forwarded, while that side is remembered", () => {
    const { joiner, out, advance } = harness(1_000);
    joiner.add(record("src"), { sender: 0, id: "a:0" });
    joiner.add(record("dst"), { sender: 1, id: "b:0" });
    advance(500);
    // Next interval of the destination side: the source side's endpoint is still remembered.
    joiner.add(record("dst", { ts_start: "2026-01-01T00:00:10.000Z", ts_end: "2026-01-01T00:00:20.000Z" }), {
      sender: 1,
      id: "b:1",
    });
    expect(out.at(-1)).toMatchObject({ id: "b:1", outcome: "joined" });
    expect(out.at(-1)?.record.src.process_name).toBe("client");
  });

  it("never holds more than maxEntries records: the oldest leaves early, unjoined", () => {
    const { joiner, out } = harness(60_000, 10);
    for (let i = 0; i < 25; i++)
      joiner.add(record("src", { src_port: 1000 + i }), { sender: 0, id: `a:${i}` });
    expect(joiner.metrics().held).toBe(10);
    expect(joiner.metrics().occupancy).toBe(1);
    expect(out.map((o) => o.id)).toEqual(Array.from({ length: 15 }, (_, i) => `a:${i}`));
    expect(out.every((o) => o.outcome === "evicted")).toBe(true);
    joiner.flushAll();
    expect(out).toHaveLength(25);
    expect(joiner.metrics()).toMatchObject({
      held: 0,
      conversations: 0,
      waiting: 0,
      evicted: 15,
      unjoined: 10,
    });
  });
});
