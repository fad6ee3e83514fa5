import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff";

describe("Backoff", () => {
  it("doubles from 0.5 s up to the 30 s cap, each delay between half and all of its step", () => {
    const low = new Backoff(500, 30_000, () => 0);
    const high = new Backoff(500, 30_000, () => 1);
    const lows = Array.from({ length: 10 }, () => low.next());
    const highs = Array.from({ length: 10 }, () => high.next());
    expect(highs).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
    expect(lows).toEqual(highs.map((h) => h / 2));
  });

  it("spreads agents that fail together (jitter) and starts over after a success", () => {
    const values = [0.1, 0.9];
    const backoff = new Backoff(1000, 30_000, () => values.shift() ?? 0.5);
    expect(backoff.next()).toBe(550);
    expect(backoff.next()).toBe(1900);
    expect(backoff.failures).toBe(2);
    backoff.reset();
    expect(backoff.failures).toBe(0);
    expect(backoff.next()).toBe(750);
  });
});
