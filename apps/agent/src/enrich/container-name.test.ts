import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerNameResolver } from "./container-name";

const id = "3f8c2b1a9d7e6f5c4b3a29180716f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e";
let dockerRoot: string;

async function writeConfig(containerId: string, config: unknown): Promise<void> {
  await mkdir(join(dockerRoot, "containers", containerId), { recursive: true });
  await writeFile(join(dockerRoot, "containers", containerId, "config.v2.json"), JSON.stringify(config));
}

beforeAll(async () => {
  dockerRoot = await mkdtemp(join(tmpdir(), "kf-docker-"));
});
afterAll(() => rm(dockerRoot, { recursive: true, force: true }));

describe("ContainerNameResolver", () => {
  it("reads a Docker container's name without the leading slash", async () => {
    await writeConfig(id, { ID: id, Name: "/web-frontend", Config: { Image: "nginx" } });
    const resolver = new ContainerNameResolver({ dockerRoot });
    expect(await resolver.nameOf({ id, runtime: "docker", podUid: null })).toBe("web-frontend");
  });

  it("returns null for a container Docker does not know and for other runtimes", async () => {
    const resolver = new ContainerNameResolver({ dockerRoot });
    expect(await resolver.nameOf({ id: "a".repeat(64), runtime: "docker", podUid: null })).toBeNull();
    await writeConfig("b".repeat(64), { Name: "/not-asked" });
    expect(await resolver.nameOf({ id: "b".repeat(64), runtime: "containerd", podUid: null })).toBeNull();
    expect(
      await new ContainerNameResolver({ dockerRoot: "/nonexistent" }).nameOf({
        id,
        runtime: "docker",
        podUid: null,
      }),
    ).toBeNull();
  });

  it("keeps a name for its TTL, then sees a rename", async () => {
    const renamed = "c".repeat(64);
    await writeConfig(renamed, { Name: "/before" });
    let now = 0;
    const resolver = new ContainerNameResolver({ dockerRoot, ttlMs: 1_000, now: () => now });
    const ref = { id: renamed, runtime: "docker" as const, podUid: null };
    expect(await resolver.nameOf(ref)).toBe("before");
    await writeConfig(renamed, { Name: "/after" });
    now = 500;
    expect(await resolver.nameOf(ref)).toBe("before");
    now = 1_001;
    expect(await resolver.nameOf(ref)).toBe("after");
  });

  it("reports a config file that is not Docker's format and leaves the name unknown", async () => {
    const odd = "d".repeat(64);
    await writeConfig(odd, { name: 42 });
    const warnings: string[] = [];
    const resolver = new ContainerNameResolver({ dockerRoot, warn: (m) => warnings.push(m) });
    expect(await resolver.nameOf({ id: odd, runtime: "docker", podUid: null })).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/unexpected Docker config for container d{64}/);
  });
});
