import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AgentState,
  readAgentState,
  readAppliedConfig,
  StateError,
  writeAgentState,
  writeAppliedConfig,
} from "./state";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kf-state-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const state: AgentState = {
  version: 1,
  server: "http://console.example:3000",
  device: { id: "0b9a4c1e-1f7e-4f55-9c55-2b8b7a0f6d11", name: "node-a", plan_name: "default" },
  credential: "k".repeat(43),
  enrolled_at: "2026-11-26T01:00:00.000Z",
};

describe("agent state file", () => {
  it("writes state.json readable by its owner only (0600) in a 0700 directory and reads it back", () => {
    const dir = join(tempDir(), "nested", "state");
    writeAgentState(dir, state);
    expect(statSync(join(dir, "state.json")).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readAgentState(dir)).toEqual(state);
    // The atomic write leaves no temp file behind.
    expect(readdirSync(dir)).toEqual(["state.json"]);
  });

  it("replaces an existing state file whole (re-enrolment)", () => {
    const dir = tempDir();
    writeAgentState(dir, state);
    writeAgentState(dir, { ...state, credential: "z".repeat(40) });
    expect(readAgentState(dir).credential).toBe("z".repeat(40));
    expect(statSync(join(dir, "state.json")).mode & 0o777).toBe(0o600);
  });

  it("says to enroll first when there is no state, and names the problem of a damaged one", () => {
    const dir = tempDir();
    expect(() => readAgentState(dir)).toThrow(StateError);
    expect(() => readAgentState(dir)).toThrow(/not enrolled.*kernflow-agent enroll/);
    writeFileSync(join(dir, "state.json"), "{not json");
    expect(() => readAgentState(dir)).toThrow(/is not JSON/);
    writeFileSync(join(dir, "state.json"), JSON.stringify({ ...state, credential: "short" }));
    expect(() => readAgentState(dir)).toThrow(/credential/);
  });

  it("refuses to write a state that does not parse (no half-valid credential on disk)", () => {
    const dir = tempDir();
    expect(() => writeAgentState(dir, { ...state, server: "ftp://x" })).toThrow();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("keeps the last applied config, and ignores one that no longer parses", () => {
    const dir = tempDir();
    expect(readAppliedConfig(dir)).toBeUndefined();
    const applied = {
      config_hash: "abc",
      config: {
        capture: { include: ["eth*"], exclude: [], sample_rate: 1, interval_ms: 10_000 },
        bytecode: null,
        sinks: [],
        flow_destination: { kind: "console" as const },
      },
    };
    writeAppliedConfig(dir, applied);
    expect(readAppliedConfig(dir)).toEqual(applied);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ config_hash: "abc" }));
    expect(readAppliedConfig(dir)).toBeUndefined();
    expect(readFileSync(join(dir, "config.json"), "utf8")).toContain("abc");
  });
});
