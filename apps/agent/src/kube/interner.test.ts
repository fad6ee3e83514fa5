import { describe, expect, it } from "vitest";
import { flatCopy, Interner, StringPool } from "./interner";

describe("Interner", () => {
  it("returns the first value made for a key, and makes one only once", () => {
    const pool = new Interner<{ n: number }>();
    let made = 0;
    const a = pool.get("k", () => ({ n: ++made }));
    const b = pool.get("k", () => ({ n: ++made }));
    expect(b).toBe(a);
    expect(made).toBe(1);
  });

  it("starts over past its size, so churning values cannot grow it without bound", () => {
    const pool = new Interner<object>(3);
    const first = pool.get("a", () => ({}));
    for (const key of ["b", "c", "d"]) pool.get(key, () => ({}));
    // "d" did not fit: the pool was emptied, so "a" is made again.
    expect(pool.get("a", () => ({}))).not.toBe(first);
  });
});

describe("StringPool", () => {
  it("gives equal strings back as one copy with the same characters", () => {
    const pool = new StringPool();
    const id = "containerd://0123456789abcdef0123456789abcdef".slice(13);
    expect(pool.get(id)).toBe("0123456789abcdef0123456789abcdef");
    expect(flatCopy(id)).toBe(id);
    expect(flatCopy("é-ünïcode-namespace")).toBe("é-ünïcode-namespace");
  });
});
