// The ingest gate: at most `limit` flow batches in work per process, the rest waiting in arrival order, and
// past the waiting limit a 429 with a retry time (which agents honour, keeping the batch).
import type { FlowStore } from "@kernflow/db";
import { describe, expect, it } from "vitest";
import type { Db } from "../src/db";
import { RateLimitedError } from "../src/errors";
import { ingestFlowBatch } from "../src/flows/ingest";
import { IngestGate } from "../src/flows/ingest-gate";

/** A piece of work that runs until released, recording when it started. */
function held(started: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    work: async () => {
      started.push(name);
      await done;
    },
    release: () => release(),
  };
}
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("flow ingest gate", () => {
  it("runs at most `limit` at once and the waiting ones in arrival order", async () => {
    const gate = new IngestGate(2, 10);
    const started: string[] = [];
    const jobs = ["a", "b", "c", "d"].map((n) => held(started, n));
    const runs = jobs.map((j) => gate.run(1, j.work));
    await tick();
    expect(started).toEqual(["a", "b"]);
    expect(gate.busy).toEqual({ running: 2, waiting: 2, waitingBytes: 2 });
    jobs[1]?.release();
    await tick();
    expect(started).toEqual(["a", "b", "c"]);
    jobs[0]?.release();
    jobs[2]?.release();
    jobs[3]?.release();
    await Promise.all(runs);
    expect(started).toEqual(["a", "b", "c", "d"]);
    expect(gate.busy).toEqual({ running: 0, waiting: 0, waitingBytes: 0 });
  });

  it("frees the slot of work that fails", async () => {
    const gate = new IngestGate(1, 10);
    await expect(gate.run(1, () => Promise.reject(new Error("write failed")))).rejects.toThrow(
      "write failed",
    );
    expect(gate.busy).toEqual({ running: 0, waiting: 0, waitingBytes: 0 });
    await expect(gate.run(1, async () => 7)).resolves.toBe(7);
    expect(() => new IngestGate(0)).toThrow(/must be ≥ 1/);
  });

  it("refuses past the waiting limit with a retry time, and ingest answers that 429 with Retry-After", async () => {
    const gate = new IngestGate(1, 1);
    const started: string[] = [];
    const first = held(started, "first");
    const second = held(started, "second");
    const runs = [gate.run(1, first.work), gate.run(1, second.work)];
    await tick();
    const refused = gate.run(1, async () => "never");
    await expect(refused).rejects.toBeInstanceOf(RateLimitedError);
    await expect(refused).rejects.toThrow(
      /console busy: 1 flow batches being stored and 1 waiting; keep the batch/,
    );

    // Past the waiting bytes too: a second waiting place is free, but not 10 more bytes.
    const bytes = new IngestGate(1, 5, 10);
    const holder = held(started, "holder");
    const holding = bytes.run(1, holder.work);
    await expect(bytes.run(11, async () => "never")).rejects.toBeInstanceOf(RateLimitedError);
    holder.release();
    await holding;

    // Answered before any other dependency is used (the body is read, the database never asked).
    const response = await ingestFlowBatch(
      { db: {} as Db, flowStore: {} as FlowStore, device: { id: "d", name: "n", planId: "p" }, gate },
      new Request("http://console.test/api/agent/v1/flows", { method: "POST", body: "{}" }),
    );
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    first.release();
    second.release();
    await Promise.all(runs);
    expect(started).toEqual(["first", "holder", "second"]);
  });

  it("reads a body before taking a slot, so a stalled upload holds none", async () => {
    const gate = new IngestGate(1, 0);
    let push!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        push = controller;
      },
    });
    const request = new Request("http://console.test/api/agent/v1/flows", {
      method: "POST",
      body,
      duplex: "half",
    } as RequestInit);
    const answer = ingestFlowBatch(
      { db: {} as Db, flowStore: {} as FlowStore, device: { id: "d", name: "n", planId: "p" }, gate },
      request,
    );
    push.enqueue(new TextEncoder().encode("{"));
    await tick();
    expect(gate.busy).toEqual({ running: 0, waiting: 0, waitingBytes: 0 });
    // Another batch gets the one slot meanwhile.
    await expect(gate.run(1, async () => "other")).resolves.toBe("other");
    push.enqueue(new TextEncoder().encode("}"));
    push.close();
    const response = await answer;
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/batch rejected/);
  });
});
