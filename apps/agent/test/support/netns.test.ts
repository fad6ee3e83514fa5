import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { canCreateNamespaces, cgroupV2Root, NetnsLab, run } from "./netns";

describe.skipIf(!canCreateNamespaces())("NetnsLab", () => {
  let lab: NetnsLab | null = null;
  afterEach(async () => {
    await lab?.cleanup();
    lab = null;
  });

  it("carries TCP over IPv4 between two namespaces with known byte counts and process names", async () => {
    lab = await NetnsLab.create();
    const client = await lab.namespace("cli");
    const server = await lab.namespace("srv");
    const link = await lab.veth(client, server);
    const srv = await lab.startServer(server, { protocol: "tcp", bind: link.b.ipv4, replyBytes: 5_000 });
    expect(readFileSync(`/proc/${srv.pid}/comm`, "utf8").trim()).toBe("kf-server");
    const before = await client.counters(link.a.ifname);
    const result = await lab.runClient(client, {
      protocol: "tcp",
      addr: link.b.ipv4,
      port: srv.port,
      bytes: 100_000,
    });
    const [event] = await srv.waitForEvents(1);
    expect(result).toMatchObject({ sent: 100_000, received: 5_000 });
    expect(event).toMatchObject({ peer_addr: link.a.ipv4, peer_port: result.local_port, received: 100_000 });
    const after = await client.counters(link.a.ifname);
    // Payload plus at least a 20-byte IP + 20-byte TCP + 14-byte Ethernet header per segment.
    expect(after.txBytes - before.txBytes).toBeGreaterThan(100_000);
    expect(after.rxBytes - before.rxBytes).toBeGreaterThan(5_000);
    // veth loses nothing: what one end sent, the other received. Re-read in case IPv6 chatter (MLD,
    // router solicitations) crossed between the two reads.
    let agree = false;
    for (let attempt = 0; attempt < 10 && !agree; attempt++) {
      const near = await client.counters(link.a.ifname);
      const far = await server.counters(link.b.ifname);
      agree = far.rxPackets === near.txPackets && far.rxBytes === near.txBytes;
      if (!agree) await new Promise((r) => setTimeout(r, 100));
    }
    expect(agree).toBe(true);
  });

  it("carries UDP over IPv6 to a namespace and to the root namespace end of a veth", async () => {
    lab = await NetnsLab.create();
    const ns = await lab.namespace("v6");
    const peer = await lab.namespace("v6peer");
    const link = await lab.veth(ns, peer);
    const srv = await lab.startServer(peer, {
      protocol: "udp",
      bind: link.b.ipv6,
      processName: "kf-udp-sink",
    });
    const result = await lab.runClient(ns, {
      protocol: "udp",
      addr: link.b.ipv6,
      port: srv.port,
      bytes: 500,
      datagrams: 5,
    });
    const events = await srv.waitForEvents(5);
    expect(events.every((e) => e.received === 100 && e.peer_port === result.local_port)).toBe(true);
    expect(readFileSync(`/proc/${srv.pid}/comm`, "utf8").trim()).toBe("kf-udp-sink");

    const rootLink = await lab.veth(ns, "root");
    expect(await run(["ip", "-o", "addr", "show", "dev", rootLink.b.ifname])).toContain(rootLink.b.ipv4);
    const echo = await lab.startServer(ns, { protocol: "udp", bind: rootLink.a.ipv4, replyBytes: 10 });
    // From the root namespace, over the root end of the veth.
    const probe = `import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(5);s.sendto(b"x"*7,("${rootLink.a.ipv4}",${echo.port}));print(len(s.recv(100)))`;
    const out = await run(["python3", "-c", probe]);
    expect(out.trim()).toBe("10");
  });

  it("delays and drops packets on an impaired link", async () => {
    lab = await NetnsLab.create();
    const a = await lab.namespace("ia");
    const b = await lab.namespace("ib");
    const slow = await lab.impairedLink(a, b, { delayMs: 60, lossPercent: 0 });
    const srv = await lab.startServer(b, { protocol: "tcp", bind: slow.b.ipv4 });
    const started = performance.now();
    await lab.runClient(a, { protocol: "tcp", addr: slow.b.ipv4, port: srv.port, bytes: 10 });
    // Handshake, data and FIN exchange take at least two round trips of 120 ms each.
    expect(performance.now() - started).toBeGreaterThan(240);

    const lossy = await lab.impairedLink(a, b, { delayMs: 0, lossPercent: 50 });
    const sink = await lab.startServer(b, { protocol: "udp", bind: lossy.b.ipv4 });
    await lab.runClient(a, {
      protocol: "udp",
      addr: lossy.b.ipv4,
      port: sink.port,
      bytes: 200 * 20,
      datagrams: 200,
    });
    await sink.waitForEvents(1);
    await new Promise((r) => setTimeout(r, 300));
    const counters = await b.counters(lossy.b.ifname);
    // 200 sent with 50 % loss: the binomial's 6-sigma band is 58..142.
    expect(counters.rxPackets).toBeGreaterThan(58);
    expect(counters.rxPackets).toBeLessThan(142);
  });

  it("runs a server inside a cgroup of its own, which cleanup removes with the server", async () => {
    lab = await NetnsLab.create();
    const ns = await lab.namespace("cg");
    const dir = await lab.cgroup(
      "docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
    );
    const srv = await lab.startServer(ns, { protocol: "udp", bind: "127.0.0.1", cgroup: dir });
    const unified = readFileSync(`/proc/${srv.pid}/cgroup`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("0::"));
    expect(`${cgroupV2Root()}${unified?.slice(3)}`).toBe(dir);
    expect(readFileSync(`/proc/${srv.pid}/comm`, "utf8").trim()).toBe("kf-server");
    await lab.cleanup();
    lab = null;
    expect(existsSync(dir)).toBe(false);
  });

  it("removes its namespaces, interfaces and processes on cleanup, and stale namespaces of dead runs", async () => {
    lab = await NetnsLab.create();
    const ns = await lab.namespace("gone");
    const link = await lab.veth(ns, "root");
    const srv = await lab.startServer(ns, { protocol: "tcp", bind: link.a.ipv4 });
    await lab.cleanup();
    lab = null;
    expect(await run(["ip", "netns", "list"])).not.toContain(ns.name);
    await expect(run(["ip", "link", "show", link.b.ifname])).rejects.toThrow(/does not exist/);
    expect(() => process.kill(srv.pid, 0)).toThrow();

    // A namespace named for a pid that no longer runs is a leftover of a killed run.
    // pid 999999999 is above the kernel's pid_max, so it never runs; other labs may clean it up too.
    const stale = `kft-999999999-${randomBytes(3).toString("hex")}-x`;
    await run(["ip", "netns", "add", stale]);
    await NetnsLab.removeStale();
    expect(await run(["ip", "netns", "list"])).not.toContain(stale);
  });
});
