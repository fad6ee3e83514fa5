import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diffInterfaces, linkHeaderLength, listInterfaces, type NetInterface } from "./interfaces";

describe("interface discovery", () => {
  it("gives Ethernet and loopback a 14-byte link header and L3 devices none", () => {
    expect(linkHeaderLength(1)).toBe(14);
    expect(linkHeaderLength(772)).toBe(14);
    expect(linkHeaderLength(65534)).toBe(0); // tun, wireguard
    expect(linkHeaderLength(778)).toBe(0); // gre
  });

  it("lists interfaces from a sysfs tree and skips one that vanished mid-read", async () => {
    const root = await mkdtemp(join(tmpdir(), "kf-sysnet-"));
    try {
      for (const [name, ifindex, type] of [
        ["eth0", 2, 1],
        ["tun0", 7, 65534],
      ] as const) {
        await mkdir(join(root, name));
        await writeFile(join(root, name, "ifindex"), `${ifindex}\n`);
        await writeFile(join(root, name, "type"), `${type}\n`);
      }
      await mkdir(join(root, "gone0"));
      const found = await listInterfaces(root);
      expect(found.sort((a, b) => a.ifindex - b.ifindex)).toEqual([
        { name: "eth0", ifindex: 2, linkHeaderLen: 14 },
        { name: "tun0", ifindex: 7, linkHeaderLen: 0 },
      ]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("reports added, removed and re-created interfaces", () => {
    const iface = (name: string, ifindex: number): NetInterface => ({ name, ifindex, linkHeaderLen: 14 });
    const before = new Map([
      [2, iface("eth0", 2)],
      [3, iface("veth1", 3)],
      [4, iface("old", 4)],
    ]);
    const changes = diffInterfaces(before, [iface("eth0", 2), iface("new", 4), iface("cali9", 9)]);
    expect(changes.removed.map((i) => i.name).sort()).toEqual(["old", "veth1"]);
    expect(changes.added.map((i) => i.name).sort()).toEqual(["cali9", "new"]);
  });

  it("reads this host's loopback", async () => {
    const lo = (await listInterfaces()).find((i) => i.name === "lo");
    expect(lo).toEqual({ name: "lo", ifindex: 1, linkHeaderLen: 14 });
  });
});
