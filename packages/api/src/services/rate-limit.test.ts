import { describe, expect, it } from "vitest";
import { FixedWindowRateLimiter } from "./rate-limit";

describe("FixedWindowRateLimiter", () => {
  it("allows up to the limit within a window and then returns the window's end", () => {
    let now = 1_000;
    const limiter = new FixedWindowRateLimiter(3, 60_000, () => now);
    expect(limiter.hit("1.2.3.4")).toBeNull();
    expect(limiter.hit("1.2.3.4")).toBeNull();
    expect(limiter.hit("1.2.3.4")).toBeNull();
    expect(limiter.hit("1.2.3.4")?.getTime()).toBe(61_000);
    now = 30_000;
    expect(limiter.hit("1.2.3.4")?.getTime()).toBe(61_000);
  });

  it("counts keys separately and starts over after the window", () => {
    let now = 0;
    const limiter = new FixedWindowRateLimiter(1, 1_000, () => now);
    expect(limiter.hit("a")).toBeNull();
    expect(limiter.hit("b")).toBeNull();
    expect(limiter.hit("a")).not.toBeNull();
    now = 1_000;
    expect(limiter.hit("a")).toBeNull();
  });

  it("drops expired windows once many keys accumulate", () => {
    let now = 0;
    const limiter = new FixedWindowRateLimiter(5, 1_000, () => now);
    for (let i = 0; i < 2000; i++) limiter.hit(`ip-${i}`);
    now = 5_000;
    limiter.hit("fresh");
    expect(limiter.size).toBe(1);
  });
});
