import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kernelTestsUnavailable, repoRoot } from "./capture-harness";

const unavailable = kernelTestsUnavailable();
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));

describe.skipIf(unavailable !== null || setpriv === undefined)("capture without privileges", () => {
  it("fails with MissingPrivilegeError naming the capabilities it lacks", () => {
    const child = spawnSync(
      setpriv ?? "setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"].concat([
        process.execPath,
        "--import",
        "tsx",
        join(repoRoot, "apps/agent/test/capture-child.ts"),
        "lo",
        "auto",
      ]),
      { cwd: repoRoot, encoding: "utf8", timeout: 60_000 },
    );
    expect(child.status).not.toBe(0);
    expect(child.stderr).toContain("MissingPrivilegeError: missing privilege: CAP_BPF and CAP_PERFMON");
    expect(child.stdout).not.toContain("attached");
  });
});
