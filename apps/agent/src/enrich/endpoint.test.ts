import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CgroupIdResolver } from "./cgroup-id";
import { ContainerNameResolver } from "./container-name";
import { EndpointEnricher } from "./endpoint";
import { ProcessResolver } from "./proc";

describe("EndpointEnricher", () => {
  it("fills pid, process name and cmdline of a live process and leaves kubernetes fields null", async () => {
    const child = spawn("sleep", ["31"], { stdio: "ignore" });
    try {
      await once(child, "spawn");
      const endpoint = await new EndpointEnricher(new ProcessResolver()).endpointFor({
        pid: child.pid as number,
      });
      expect(endpoint).toMatchObject({ pid: child.pid, process_name: "sleep", process_cmdline: "sleep 31" });
      expect(endpoint.container_id).toBeNull();
      expect(endpoint.object_name).toBeNull();
    } finally {
      child.kill();
    }
  });

  it("falls back to the cgroup id for the container of a process that already exited, and names it", async () => {
    const id = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
    const root = await mkdtemp(join(tmpdir(), "kf-cg-"));
    try {
      await mkdir(join(root, `docker-${id}.scope`));
      await mkdir(join(root, "docker", "containers", id), { recursive: true });
      await writeFile(
        join(root, "docker", "containers", id, "config.v2.json"),
        JSON.stringify({ Name: "/api" }),
      );
      const cgroupId = (await stat(join(root, `docker-${id}.scope`), { bigint: true })).ino;
      const gone = spawn("true", [], { stdio: "ignore" });
      await once(gone, "exit");
      const enricher = new EndpointEnricher(
        new ProcessResolver(),
        new CgroupIdResolver({ root }),
        new ContainerNameResolver({ dockerRoot: join(root, "docker") }),
      );
      const endpoint = await enricher.endpointFor({ pid: gone.pid as number, cgroupId });
      expect(endpoint).toMatchObject({
        pid: gone.pid,
        process_name: null,
        container_id: id,
        container_name: "api",
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("returns an all-null endpoint when the kernel saw no process", async () => {
    const endpoint = await new EndpointEnricher(new ProcessResolver()).endpointFor({ pid: null });
    expect(Object.values(endpoint).every((v) => v === null)).toBe(true);
  });
});
