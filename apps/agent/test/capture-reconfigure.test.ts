import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { defaultBytecodePath } from "../src/bpf/loader";
import { DrainLoop } from "../src/capture/drain-loop";
import { CaptureEngine } from "../src/capture/engine";
import { kernelTestsUnavailable, VethLink } from "./capture-harness";
import { brokenBytecode } from "./support/broken-bytecode";

const unavailable = kernelTestsUnavailable();

describe.skipIf(unavailable !== null)("one running capture, reconfigured while it runs", () => {
  const links: VethLink[] = [];
  afterAll(() => {
    for (const l of links) l.destroy();
  });

  it("changes its interval, rules and (refusing a broken one) bytecode without stopping", async () => {
    const a = new VethLink().create();
    const b = new VethLink().create();
    links.push(a, b);
    const logs: string[] = [];
    const engine = await CaptureEngine.start(
      { include: [a.outer], exclude: [] },
      { kind: "file" },
      { deviceName: "reconfigure-test", log: (m) => logs.push(m) },
    );
    const loop = new DrainLoop(engine, 60_000, () => {}, 200);
    const stop = new AbortController();
    const running = loop.run(stop.signal);
    try {
      expect(engine.interfacesAttached).toEqual([a.outer]);

      // A 60 s interval shortened to 200 ms takes effect at once, not after the 60 s.
      await new Promise((r) => setTimeout(r, 300));
      expect(loop.totals.intervals).toBe(0);
      loop.setIntervalMs(200);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(loop.totals.intervals).toBeGreaterThanOrEqual(3);

      await engine.setRules({ include: ["kfo*"], exclude: [a.outer] });
      expect(engine.interfacesAttached).toContain(b.outer);
      expect(engine.interfacesAttached).not.toContain(a.outer);

      const before = engine.bytecodeSha256;
      await expect(
        engine.swapBytecode({ kind: "bytes", bytes: brokenBytecode(defaultBytecodePath()), label: "broken" }),
      ).rejects.toThrow(/bpf_object__load/);
      expect(engine.bytecodeSha256).toBe(before);
      expect(engine.interfacesAttached).toContain(b.outer);

      await engine.swapBytecode({ kind: "bytes", bytes: readFileSync(defaultBytecodePath()), label: "same" });
      expect(engine.interfacesAttached).toContain(b.outer);
      expect(logs.join("\n")).toMatch(/bytecode [0-9a-f]{12} in use/);
    } finally {
      stop.abort();
      await running;
    }
    expect(engine.interfacesAttached).toEqual([]);
  }, 60_000);
});
