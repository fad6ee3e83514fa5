import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cmdlineFromProc, ProcessResolver, unknownProcess } from "./proc";

describe("cmdlineFromProc", () => {
  it("joins NUL-separated arguments with spaces and drops the trailing NUL", () => {
    expect(cmdlineFromProc("nginx: worker\0--flag\0value\0")).toBe("nginx: worker --flag value");
  });
  it("is null for a kernel thread's empty cmdline", () => {
    expect(cmdlineFromProc("")).toBeNull();
  });
});

describe("ProcessResolver against the real /proc", () => {
  it("names a running process by its comm and cmdline", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      await once(child, "spawn");
      const info = await new ProcessResolver().lookup(child.pid as number);
      expect(info.process_name).toBe("sleep");
      expect(info.process_cmdline).toBe("sleep 30");
      expect(info.cgroup).toContain("0::");
    } finally {
      child.kill();
    }
  });

  it("returns unknown, not an error, for a pid that has exited", async () => {
    const child = spawn("true", [], { stdio: "ignore" });
    await once(child, "exit");
    expect(await new ProcessResolver().lookup(child.pid as number)).toEqual(unknownProcess);
  });
});

describe("ProcessResolver cache", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  async function fakeProc(): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), "kf-proc-"));
    dirs.push(root);
    return root;
  }
  async function writeProcess(root: string, pid: number, comm: string, cmdline: string) {
    await mkdir(join(root, String(pid)), { recursive: true });
    await writeFile(join(root, String(pid), "comm"), `${comm}\n`);
    await writeFile(join(root, String(pid), "cmdline"), cmdline);
  }

  it("serves a pid from cache within the TTL and re-reads it after, so a reused pid gets its new name", async () => {
    const root = await fakeProc();
    let now = 1_000;
    const resolver = new ProcessResolver({ procRoot: root, ttlMs: 100, now: () => now });
    await writeProcess(root, 42, "old", "old\0");
    expect((await resolver.lookup(42)).process_name).toBe("old");
    await writeProcess(root, 42, "new", "new\0-x\0");
    now += 50;
    expect((await resolver.lookup(42)).process_name).toBe("old");
    now += 51;
    expect(await resolver.lookup(42)).toMatchObject({ process_name: "new", process_cmdline: "new -x" });
  });

  it("keeps no more than maxEntries pids", async () => {
    const root = await fakeProc();
    const resolver = new ProcessResolver({ procRoot: root, maxEntries: 2 });
    for (const pid of [1, 2, 3]) await writeProcess(root, pid, `p${pid}`, "");
    await resolver.lookup(1);
    await resolver.lookup(2);
    await resolver.lookup(3);
    await writeProcess(root, 1, "renamed", "");
    // pid 1 was evicted, so the new name is read although its TTL had not run out.
    expect((await resolver.lookup(1)).process_name).toBe("renamed");
  });
});
