import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CgroupIdResolver } from "./cgroup-id";

const id64 = "3f8c2b1a9d7e6f5c4b3a29180716f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e";
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tree(...paths: string[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "kf-cgroup-"));
  dirs.push(root);
  for (const p of paths) await mkdir(join(root, p), { recursive: true });
  return root;
}
const inode = async (p: string) => (await stat(p, { bigint: true })).ino;

describe("CgroupIdResolver", () => {
  it("maps a cgroup directory's inode to its path and container", async () => {
    const root = await tree(`system.slice/docker-${id64}.scope`, "system.slice/sshd.service");
    const resolver = new CgroupIdResolver({ root });
    const scopeId = await inode(join(root, `system.slice/docker-${id64}.scope`));
    expect(await resolver.pathOf(scopeId)).toBe(`/system.slice/docker-${id64}.scope`);
    expect(await resolver.containerOf(scopeId)).toMatchObject({ id: id64, runtime: "docker" });
    expect(await resolver.containerOf(await inode(join(root, "system.slice/sshd.service")))).toBeNull();
    expect(await resolver.pathOf(await inode(root))).toBe("/");
  });

  it("finds a cgroup created after the first walk once the rescan interval has passed", async () => {
    const root = await tree("a");
    let now = 0;
    const resolver = new CgroupIdResolver({ root, minRescanMs: 1_000, now: () => now });
    await resolver.pathOf(await inode(join(root, "a")));
    await mkdir(join(root, "b"));
    const bId = await inode(join(root, "b"));
    now = 500;
    expect(await resolver.pathOf(bId)).toBeNull();
    now = 1_500;
    expect(await resolver.pathOf(bId)).toBe("/b");
  });

  it("resolves the real cgroup v2 root of this host", async () => {
    const root = "/sys/fs/cgroup/unified";
    const resolver = new CgroupIdResolver({ root });
    expect(await resolver.pathOf(await inode(root))).toBe("/");
  });
});
