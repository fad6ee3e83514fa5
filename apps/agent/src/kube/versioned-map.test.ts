import { describe, expect, it } from "vitest";
import { VersionedMap } from "./versioned-map";

describe("VersionedMap", () => {
  it("reports each key once at its latest change after a version, removals as keys", () => {
    const map = new VersionedMap<string>(100);
    map.set("a", "a1", 1);
    map.set("b", "b1", 2);
    map.set("a", "a2", 3);
    map.remove("b", 4);
    map.set("c", "c1", 5);
    expect(map.changedSince(0)).toEqual({ upserted: ["a2", "c1"], removed: ["b"] });
    expect(map.changedSince(3)).toEqual({ upserted: ["c1"], removed: ["b"] });
    expect(map.changedSince(5)).toEqual({ upserted: [], removed: [] });
    expect(map.size).toBe(2);
    expect(map.values()).toEqual(["a2", "c1"]);
  });

  it("forgets the oldest tombstones past its limit and says up to which version", () => {
    const map = new VersionedMap<number>(4);
    for (let v = 1; v <= 10; v++) map.set(`k${v}`, v, v);
    for (let v = 1; v <= 5; v++) map.remove(`k${v}`, 10 + v);
    // The 5th removal passed the limit of 4: the older half went, through the 3rd removal (version 13).
    expect(map.forgottenThrough).toBe(13);
    expect(map.changedSince(13).removed).toEqual(["k4", "k5"]);
  });

  it("stays correct when its change log is compacted after many updates of few keys", () => {
    const map = new VersionedMap<number>(10);
    let v = 0;
    for (let round = 0; round < 2000; round++) for (const k of ["x", "y"]) map.set(k, round, ++v);
    expect(map.changedSince(v - 1)).toEqual({ upserted: [1999], removed: [] });
    expect(map.changedSince(0).upserted).toEqual([1999, 1999]);
  });
});
