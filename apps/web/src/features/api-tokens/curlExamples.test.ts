import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { curlExamples } from "./curlExamples";

// Runs the generated command line through a real shell with `printf` standing in for curl, so the
// test sees exactly the arguments curl would get.
function argumentsOf(command: string): string[] {
  const script = `${command.replace(/^curl /, "printf '%s\\n' ")}`;
  return execFileSync("sh", ["-c", script], { encoding: "utf8" }).trimEnd().split("\n");
}

describe("curlExamples", () => {
  it("sends the token as a bearer header to the plans endpoint", () => {
    const { bearer } = curlExamples("http://127.0.0.1:3000", "ops@example.com", "kf_abc123");
    expect(argumentsOf(bearer)).toEqual([
      "-s",
      "-H",
      "Authorization: Bearer kf_abc123",
      "http://127.0.0.1:3000/api/v1/plans",
    ]);
  });

  it("sends email and token in the X-CH-Auth headers", () => {
    const { kentik } = curlExamples("http://127.0.0.1:3000", "ops@example.com", "kf_abc123");
    expect(argumentsOf(kentik)).toEqual([
      "-s",
      "-H",
      "X-CH-Auth-Email: ops@example.com",
      "-H",
      "X-CH-Auth-API-Token: kf_abc123",
      "http://127.0.0.1:3000/api/v1/plans",
    ]);
  });

  it("keeps an email with a quote in it as one argument", () => {
    const { kentik } = curlExamples("http://h:1", "o'brien@example.com", "t");
    expect(argumentsOf(kentik)).toContain("X-CH-Auth-Email: o'brien@example.com");
  });
});
