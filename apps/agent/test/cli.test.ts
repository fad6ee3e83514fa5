import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { flowRecordSchema } from "@kernflow/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { kernelTestsUnavailable } from "./capture-harness";
import { type Netns, type NetnsCommandError, NetnsLab } from "./support/netns";

const agentDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = join(agentDir, "..", "..");
const bin = join(agentDir, "bin", "kernflow-agent.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd = repoRoot): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}
const agent = (...args: string[]) => run(process.execPath, [bin, ...args]);

describe("kernflow-agent bin", () => {
  it("prints the command list for --help and exits 0", async () => {
    const r = await agent("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kernflow-agent <command>/);
    for (const command of ["capture", "enroll", "run", "aggregate", "kubetags"])
      expect(r.stdout).toContain(command);
  });

  it("prints capture's flags for capture --help and exits 0", async () => {
    const r = await agent("capture", "--help");
    expect(r.code).toBe(0);
    for (const flag of [
      "--interfaces",
      "--exclude",
      "--interval",
      "--duration",
      "--format",
      "--bytecode",
      "--export",
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });

  it("exits 2 with the reason and a pointer to --help on a bad flag value", async () => {
    const r = await agent("capture", "--interfaces", "eth*", "--interval", "10");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"10" is not a duration');
    expect(r.stderr).toContain("kernflow-agent capture --help");
    expect(r.stdout).toBe("");
  });

  it("exits 2 on an unknown flag and on a missing --interfaces", async () => {
    const unknown = await agent("capture", "--interfaces", "lo", "--promiscuous");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--promiscuous'");
    const missing = await agent("capture");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--interfaces is required");
  });

  it("exits 2 on an unknown command", async () => {
    const unknown = await agent("sniff");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "sniff"');
  });

  it.skipIf(!existsSync("/usr/bin/setpriv") || process.getuid?.() !== 0)(
    "exits 3 naming the missing capabilities when run as nobody",
    async () => {
      const r = await run("setpriv", [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        process.execPath,
        bin,
        "capture",
        "--interfaces",
        "lo",
        "--duration",
        "1s",
      ]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain("missing privilege: CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON");
    },
  );

  it("is reachable as `npm exec kernflow-agent` from the repository root (the workspace bin)", async () => {
    const r = await run("npm", ["exec", "--no", "--", "kernflow-agent", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: kernflow-agent <command>");
  });
});

const kernelSkip = (() => {
  try {
    return kernelTestsUnavailable();
  } catch (error) {
    // Under CI a missing kernel prerequisite is a failure, reported by the test below.
    return error as Error;
  }
})();

describe.skipIf(typeof kernelSkip === "string")("kernflow-agent capture on a real kernel", () => {
  let lab: NetnsLab | null = null;
  afterEach(async () => {
    await lab?.cleanup();
    lab = null;
  });

  /** Starts the real bin inside `ns`, where it sees only that namespace's interfaces. */
  /**
   * Starts the real bin inside `ns`. `ip netns exec` gives it a fresh /sys without the cgroup hierarchy;
   * `withCgroupfs` mounts cgroup2 there first, as a containerised agent gets the host's mounted in.
   */
  async function startAgent(ns: Netns, args: string[], withCgroupfs = false) {
    if (kernelSkip instanceof Error) throw kernelSkip;
    const agentArgv = [process.execPath, bin, "capture", ...args];
    const child = ns.spawn(
      withCgroupfs
        ? ["sh", "-c", 'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"', "sh", ...agentArgv]
        : agentArgv,
    );
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk) => {
      stdout += String(chunk);
    });
    child.stderr?.on("data", (chunk) => {
      stderr += String(chunk);
    });
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const poll = setInterval(() => {
        if (/attached to /.test(stderr)) {
          clearInterval(poll);
          resolve();
        } else if (child.exitCode !== null || Date.now() - started > 60_000) {
          clearInterval(poll);
          reject(new Error(`agent did not attach (exit ${child.exitCode}): ${stderr}`));
        }
      }, 50);
    });
    return { child, exit, stdout: () => stdout, stderr: () => stderr };
  }

  it("prints schema-valid records with process names after SIGINT drains the last interval, and exits 0", async () => {
    lab = await NetnsLab.create();
    const client = await lab.namespace("agent");
    const server = await lab.namespace("peer");
    const link = await lab.veth(client, server);
    // A 10 s interval never elapses here: every record printed comes from the drain that SIGINT triggers.
    const agent = await startAgent(client, [
      "--interfaces",
      `kf${lab.id}*`,
      "--format",
      "ndjson",
      "--device",
      "t1",
    ]);

    const tcpServer = await lab.startServer(server, {
      protocol: "tcp",
      bind: link.b.ipv4,
      replyBytes: 5_000,
    });
    const tcp = await lab.runClient(client, {
      protocol: "tcp",
      addr: link.b.ipv4,
      port: tcpServer.port,
      bytes: 100_000,
    });
    const udpServer = await lab.startServer(server, { protocol: "udp", bind: link.b.ipv6 });
    const udp = await lab.runClient(client, {
      protocol: "udp",
      addr: link.b.ipv6,
      port: udpServer.port,
      bytes: 500,
      datagrams: 5,
      processName: "kf-udp-client",
    });
    await udpServer.waitForEvents(5);

    agent.child.kill("SIGINT");
    expect(await agent.exit).toBe(0);
    expect(agent.stderr()).toContain("stopping: draining the maps and detaching");
    const records = agent
      .stdout()
      .trimEnd()
      .split("\n")
      .map((line) => flowRecordSchema.parse(JSON.parse(line)));

    const out = records.filter(
      (r) => r.protocol === 6 && r.src_port === tcp.local_port && r.direction === "egress",
    );
    expect(out.length).toBeGreaterThan(0);
    expect(out.every((r) => r.interface === link.a.ifname && r.device === "t1" && r.vantage === "src")).toBe(
      true,
    );
    // 100 000 payload bytes plus at least 40 header bytes per segment, at L3.
    expect(out.reduce((sum, r) => sum + r.bytes, 0)).toBeGreaterThan(100_000);
    expect(out[0]?.src).toMatchObject({ pid: tcp.pid, process_name: "kf-client" });

    const back = records.filter(
      (r) => r.protocol === 6 && r.dst_port === tcp.local_port && r.direction === "ingress",
    );
    expect(back.reduce((sum, r) => sum + r.bytes, 0)).toBeGreaterThan(5_000);
    expect(back[0]?.dst.process_name).toBe("kf-client");

    // UDP is exact: 5 datagrams of 100 bytes = 5 × (100 + 8 UDP + 40 IPv6) L3 bytes.
    const udpOut = records.filter(
      (r) => r.protocol === 17 && r.src_port === udp.local_port && r.direction === "egress",
    );
    expect(udpOut.reduce((sum, r) => sum + r.packets, 0)).toBe(5);
    expect(udpOut.reduce((sum, r) => sum + r.bytes, 0)).toBe(5 * 148);
    expect(udpOut[0]).toMatchObject({ src_addr: link.a.ipv6, dst_addr: link.b.ipv6 });
    expect(udpOut[0]?.src.process_name).toBe("kf-udp-client");
  });

  it("attributes a flow to the container of its process by cgroup id when the process exited before the drain", async () => {
    lab = await NetnsLab.create();
    const ns = await lab.namespace("ctr");
    const peer = await lab.namespace("ctrpeer");
    const link = await lab.veth(ns, peer);
    const containerId = randomBytes(32).toString("hex");
    const scope = await lab.cgroup(`docker-${containerId}.scope`);
    const agent = await startAgent(ns, ["--interfaces", link.a.ifname, "--format", "ndjson"], true);
    const srv = await lab.startServer(peer, { protocol: "udp", bind: link.b.ipv4 });
    const sent = await lab.runClient(ns, {
      protocol: "udp",
      addr: link.b.ipv4,
      port: srv.port,
      bytes: 200,
      datagrams: 2,
      processName: "kf-in-ctr",
      cgroup: scope,
    });
    await srv.waitForEvents(2);
    agent.child.kill("SIGINT");
    expect(await agent.exit).toBe(0);
    const records = agent
      .stdout()
      .trimEnd()
      .split("\n")
      .map((line) => flowRecordSchema.parse(JSON.parse(line)));
    const flow = records.find(
      (r) => r.protocol === 17 && r.src_port === sent.local_port && r.direction === "egress",
    );
    expect(flow?.src).toMatchObject({ pid: sent.pid, process_name: "kf-in-ctr", container_id: containerId });
    expect(flow?.packets).toBe(2);
  });

  it("attributes a flow to a running container process from its /proc cgroup lines", async () => {
    lab = await NetnsLab.create();
    const ns = await lab.namespace("live");
    const peer = await lab.namespace("livepeer");
    const link = await lab.veth(ns, peer);
    const containerId = randomBytes(32).toString("hex");
    const scope = await lab.cgroup(`cri-containerd-${containerId}.scope`);
    // No cgroupfs in the agent's view here: only /proc of the live server can name the container.
    const agent = await startAgent(ns, ["--interfaces", link.a.ifname, "--format", "ndjson"]);
    const srv = await lab.startServer(ns, {
      protocol: "udp",
      bind: link.a.ipv4,
      processName: "kf-ctr-server",
      cgroup: scope,
    });
    const sent = await lab.runClient(peer, {
      protocol: "udp",
      addr: link.a.ipv4,
      port: srv.port,
      bytes: 300,
      datagrams: 3,
    });
    await srv.waitForEvents(3);
    agent.child.kill("SIGINT");
    expect(await agent.exit).toBe(0);
    const records = agent
      .stdout()
      .trimEnd()
      .split("\n")
      .map((line) => flowRecordSchema.parse(JSON.parse(line)));
    const flow = records.find(
      (r) => r.protocol === 17 && r.src_port === sent.local_port && r.direction === "ingress",
    );
    expect(flow?.packets).toBe(3);
    expect(flow?.dst).toMatchObject({
      pid: srv.pid,
      process_name: "kf-ctr-server",
      container_id: containerId,
    });
  });

  it("exits 2 naming the file when --bytecode is not a BPF object", async () => {
    if (kernelSkip instanceof Error) throw kernelSkip;
    lab = await NetnsLab.create();
    const ns = await lab.namespace("bytecode");
    const garbage = join(lab.tempDirectory, "garbage.bpf.o");
    writeFileSync(garbage, "this is not an ELF object\n");
    const agentRun = await ns
      .exec([process.execPath, bin, "capture", "--interfaces", "lo", "--bytecode", garbage])
      .then(() => ({ code: 0, stderr: "" }))
      .catch((error: NetnsCommandError) => ({ code: error.exitCode, stderr: error.stderr }));
    expect(agentRun.code).toBe(2);
    expect(agentRun.stderr).toContain(`--bytecode ${garbage}:`);
  });

  it("detaches and exits 0 on SIGTERM", async () => {
    lab = await NetnsLab.create();
    const ns = await lab.namespace("term");
    const peer = await lab.namespace("termpeer");
    const link = await lab.veth(ns, peer);
    const agent = await startAgent(ns, ["--interfaces", link.a.ifname, "--format", "ndjson"]);
    agent.child.kill("SIGTERM");
    expect(await agent.exit).toBe(0);
    expect(agent.stderr()).toMatch(/stopping: draining the maps and detaching[\s\S]*capture ended/);
  });

  it("stops by itself after --duration and prints a table", async () => {
    lab = await NetnsLab.create();
    const ns = await lab.namespace("dur");
    const peer = await lab.namespace("durpeer");
    const link = await lab.veth(ns, peer);
    const agent = await startAgent(ns, [
      "--interfaces",
      link.a.ifname,
      "--duration",
      "3s",
      "--interval",
      "500ms",
      "--format",
      "table",
    ]);
    const srv = await lab.startServer(peer, { protocol: "udp", bind: link.b.ipv4 });
    await lab.runClient(ns, { protocol: "udp", addr: link.b.ipv4, port: srv.port, bytes: 300, datagrams: 3 });
    expect(await agent.exit).toBe(0);
    const lines = agent.stdout().split("\n");
    expect(lines[0]).toMatch(/^TIME\s+IFACE\s+DIR\s+PROTO\s+SRC\s+DST/);
    const row = lines.find((l) => l.includes(`${link.a.ipv4}:`) && l.includes(`${link.b.ipv4}:${srv.port}`));
    expect(row).toMatch(new RegExp(`${link.a.ifname}\\s+out\\s+udp`));
    expect(row).toContain("kf-client(");
  });
});
