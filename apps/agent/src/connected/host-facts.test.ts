import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, release, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { gatherHostFacts, prettyOsName } from "./host-facts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("host facts", () => {
  it("reads PRETTY_NAME with or without quotes, and null when absent", () => {
    expect(prettyOsName('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')).toBe(
      "Debian GNU/Linux 12 (bookworm)",
    );
    expect(prettyOsName("PRETTY_NAME=Alpine\\ Linux\n")).toBe("Alpine Linux");
    expect(prettyOsName("NAME=x\n")).toBeNull();
  });

  it("gathers hostname, machine id, kernel release, OS, agent version and interfaces", async () => {
    const etc = mkdtempSync(join(tmpdir(), "kf-etc-"));
    dirs.push(etc);
    writeFileSync(join(etc, "machine-id"), "0123456789abcdef0123456789abcdef\n");
    writeFileSync(join(etc, "os-release"), 'PRETTY_NAME="Test OS 1"\n');
    const facts = await gatherHostFacts({ etc });
    expect(facts).toMatchObject({
      hostname: hostname(),
      machine_id: "0123456789abcdef0123456789abcdef",
      kernel_release: release(),
      os: "Test OS 1",
      agent_version: "0.1.0",
    });
    expect(facts.interfaces).toContain("lo");
  });

  it("refuses to enrol without a machine id, since the console could not recognise the host again", async () => {
    const etc = mkdtempSync(join(tmpdir(), "kf-etc-"));
    dirs.push(etc);
    await expect(gatherHostFacts({ etc })).rejects.toThrow(/machine-id is missing/);
  });
});
