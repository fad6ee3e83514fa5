import { describe, expect, it } from "vitest";
import { safeNextPath } from "./nextPath";

describe("safeNextPath", () => {
  it("follows a path on this site", () => {
    expect(safeNextPath("/plans?x=1")).toBe("/plans?x=1");
  });

  it("goes to the overview when there is no next path", () => {
    expect(safeNextPath(null)).toBe("/");
    expect(safeNextPath("")).toBe("/");
  });

  it("refuses absolute and protocol-relative URLs to other sites", () => {
    expect(safeNextPath("https://evil.example/")).toBe("/");
    expect(safeNextPath("//evil.example/")).toBe("/");
    expect(safeNextPath("/\\evil.example/")).toBe("/");
    expect(safeNextPath("javascript:alert(1)")).toBe("/");
  });
});
