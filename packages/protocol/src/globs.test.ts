import { describe, expect, it } from "vitest";
import { InterfaceGlob, InvalidGlobError, matchesInterface, splitPatternList, validateGlobs } from "./globs";

const m = (pattern: string, name: string) => new InterfaceGlob(pattern).matches(name);

describe("InterfaceGlob", () => {
  it("matches a star against any run of characters, including none", () => {
    expect(m("eth*", "eth0")).toBe(true);
    expect(m("eth*", "eth")).toBe(true);
    expect(m("eth*", "ens3")).toBe(false);
    expect(m("*0", "veth10")).toBe(true);
    expect(m("*", "lo")).toBe(true);
    expect(m("c*i*1", "cali1a2b3c1")).toBe(true);
    expect(m("c*i*1", "cali1a2b3c2")).toBe(false);
  });
  it("matches a question mark against exactly one character", () => {
    expect(m("eth?", "eth1")).toBe(true);
    expect(m("eth?", "eth10")).toBe(false);
    expect(m("eth?", "eth")).toBe(false);
  });
  it("matches character classes, ranges and negated classes", () => {
    expect(m("tun[abc]", "tunb")).toBe(true);
    expect(m("tun[abc]", "tund")).toBe(false);
    expect(m("eth[0-3]", "eth2")).toBe(true);
    expect(m("eth[0-3]", "eth4")).toBe(false);
    expect(m("[!l]o", "lo")).toBe(false);
    expect(m("[!l]o", "xo")).toBe(true);
  });
  it("treats regular-expression syntax as literal characters", () => {
    expect(m("eth.+", "eth0")).toBe(false);
    expect(m("eth.+", "eth.+")).toBe(true);
    expect(m("a|b", "a")).toBe(false);
  });
  it("matches the whole name, not a substring", () => {
    expect(m("eth", "veth0")).toBe(false);
    expect(m("eth0", "eth0x")).toBe(false);
  });
  it("stays fast on patterns that make naive backtracking explode", () => {
    const started = performance.now();
    expect(m("*a*a*a*a*a*a*a*a*b", "a".repeat(60))).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });
  it("rejects an unclosed class, an empty pattern and a reversed range with the pattern named", () => {
    expect(() => new InterfaceGlob("eth[0")).toThrow(InvalidGlobError);
    expect(() => new InterfaceGlob("eth[0")).toThrow(/"eth\[0"/);
    expect(() => new InterfaceGlob("")).toThrow(/empty/);
    expect(() => new InterfaceGlob("eth[9-0]")).toThrow(/reversed/);
  });
});

describe("matchesInterface", () => {
  it("selects names that match an include and no exclude", () => {
    expect(matchesInterface("eth0", ["eth*", "cali*"], [])).toBe(true);
    expect(matchesInterface("cali12", ["eth*", "cali*"], ["cali1?"])).toBe(false);
    expect(matchesInterface("cali1", ["eth*", "cali*"], ["cali1?"])).toBe(true);
    expect(matchesInterface("lo", ["eth*"], [])).toBe(false);
  });
  it("selects nothing when there are no include patterns", () => {
    expect(matchesInterface("eth0", [], [])).toBe(false);
  });
});

describe("splitPatternList and validateGlobs", () => {
  it("splits comma-separated lists and drops blanks", () => {
    expect(splitPatternList("eth*, cali* ,,tun?")).toEqual(["eth*", "cali*", "tun?"]);
  });
  it("names the first invalid pattern", () => {
    expect(() => validateGlobs(["eth*", "x[", "y["])).toThrow(/"x\["/);
  });
});
