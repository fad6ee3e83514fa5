import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { registerDefaultBytecode } from "@kernflow/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultBytecodePath } from "../src/bpf/loader";
import {
  counters,
  kernelTestsUnavailable,
  NamedPrograms,
  TrafficProcess,
  trafficScript,
  VethLink,
} from "./capture-harness";
import { AgentProcess } from "./support/agent-process";
import { brokenBytecode, variantBytecode } from "./support/broken-bytecode";
import { TestConsole } from "./support/console";

const unavailable = kernelTestsUnavailable();

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what} not reached within ${timeoutMs} ms${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(unavailable !== null)("kernflow-agent enroll + run against a real console", () => {
  let consoleServer: TestConsole;
  let programs: NamedPrograms;
  let agent: AgentProcess | undefined;
  const stateDir = mkdtempSync(join(tmpdir(), "kf-connected-"));
  const a = new VethLink();
  const b = new VethLink();
  const procs: TrafficProcess[] = [];
  let deviceId = "";
  let ruleId = "";
  let bBefore: ReturnType<typeof counters>;

  beforeAll(async () => {
    programs = new NamedPrograms();
    a.create();
    b.create();
    consoleServer = await TestConsole.start();
    // As the console does at start: the object built from bpf/ is the default bytecode.
    await registerDefaultBytecode(consoleServer.database.prisma, defaultBytecodePath());
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) p.stop();
    await agent?.stop();
    a.destroy();
    b.destroy();
    programs?.cleanup();
    await consoleServer?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  async function udpBurst(link: VethLink, count: number): Promise<void> {
    const server = TrafficProcess.start([
      ...["ip", "netns", "exec", link.netns],
      ...[programs.path("kf-connsrv"), trafficScript, "udp-server", link.innerAddr],
    ]);
    procs.push(server);
    const ready = await server.next("ready");
    const client = TrafficProcess.start([
      ...[programs.path("kf-connudp"), trafficScript, "udp-client", link.innerAddr, String(ready.port)],
      ...[String(count), "20"],
    ]);
    await client.next("done");
    server.stop();
  }

  const device = () => consoleServer.restOk("GET", `/devices/${deviceId}`);

  it("enrolls with a token (state.json 0600) and, running, attaches to what the plan's capture rule matches", async () => {
    const { planId, secret } = await consoleServer.planAndToken();
    const rule = await consoleServer.restOk("POST", "/capture-rules", {
      scope: "plan",
      planId,
      name: "first veth",
      include: [a.outer],
    });
    ruleId = rule.id;
    const enrolled = await AgentProcess.once([
      "enroll",
      ...["--server", consoleServer.url, "--token", secret, "--state-dir", stateDir],
    ]);
    expect(enrolled.stderr).toBe("");
    expect(enrolled.code).toBe(0);
    expect(enrolled.stdout).toMatch(/enrolled as device/);
    const state = JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8"));
    expect(statSync(join(stateDir, "state.json")).mode & 0o777).toBe(0o600);
    deviceId = state.device.id;

    agent = AgentProcess.start(["run", "--state-dir", stateDir]);
    await agent.waitFor(`attached to ${a.outer} `);
    const shown = await until("device online with its interface attached", async () => {
      const d = await device();
      return d.status === "online" && d.interfacesAttached.includes(a.outer) ? d : undefined;
    });
    expect(shown.interfacesAttached).toEqual([a.outer]);
    expect(shown.health).toBe("ok");
    expect(shown.kernelRelease).toBe(release());
    expect(shown.bytecode?.name).toMatch(/^kernflow\.bpf\.o/);
  }, 90_000);

  it("a capture-rule change through the API reaches the running agent and moves its attachment", async () => {
    const from = agent?.lines.length ?? 0;
    const changed = performance.now();
    await consoleServer.restOk("PATCH", `/capture-rules/${ruleId}`, { include: [b.outer] });
    const attached = await (agent as AgentProcess).waitFor(`attached to ${b.outer} `, 10_000, from);
    bBefore = counters(b.outer);
    await (agent as AgentProcess).waitFor(`detached from ${a.outer}`, 10_000, from);
    expect(attached.at - changed).toBeLessThan(2_000);
    const shown = await until("device shows the new attachment", async () => {
      const d = await device();
      return d.interfacesAttached.join() === b.outer ? d : undefined;
    });
    expect(shown.interfacesAttached).toEqual([b.outer]);
  }, 60_000);

  it("a pushed bytecode that fails to load leaves the device degraded while the old one keeps counting", async () => {
    const from = agent?.lines.length ?? 0;
    const upload = await consoleServer.rest("POST", "/bytecode", undefined, {
      bytes: brokenBytecode(defaultBytecodePath()),
      query: `name=broken.bpf.o&kernel_match=${encodeURIComponent(release())}`,
    });
    expect(upload.status, JSON.stringify(upload.body)).toBe(201);
    await (agent as AgentProcess).waitFor(/bytecode broken\.bpf\.o .* failed to load/, 20_000, from);
    const shown = await until("device degraded", async () => {
      const d = await device();
      return d.status === "degraded" ? d : undefined;
    });
    expect(shown.health).toBe("degraded");
    expect(shown.errors.map((e: { kind: string }) => e.kind)).toContain("bytecode_load");
    expect(shown.bytecode?.name).toMatch(/^kernflow\.bpf\.o/);
    expect(shown.interfacesAttached).toEqual([b.outer]);

    // Still capturing with the old bytecode: traffic on the attached interface reaches the console.
    await udpBurst(b, 5);
    await until(
      "records of the burst stored",
      async () =>
        (await consoleServer.storedTotals(deviceId, `interface = '${b.outer}'`)).packets >= 10
          ? true
          : undefined,
      40_000,
    );

    // Removing the broken object takes the device back to the default and to ok.
    await consoleServer.restOk("DELETE", `/bytecode/${upload.body.id}?force=true`);
    await until("device ok again", async () => ((await device()).health === "ok" ? true : undefined));
  }, 120_000);

  it("swaps to a pushed bytecode that loads, without a restart, and reports it in use", async () => {
    const from = agent?.lines.length ?? 0;
    const variant = variantBytecode(defaultBytecodePath());
    const upload = await consoleServer.restOk("POST", "/bytecode", undefined, {
      bytes: variant,
      query: `name=variant.bpf.o&kernel_match=${encodeURIComponent(release())}`,
    });
    const line = await (agent as AgentProcess).waitFor(/bytecode [0-9a-f]{12} in use/, 20_000, from);
    expect(line.text).toContain(upload.sha256.slice(0, 12));
    const shown = await until("device runs the variant", async () => {
      const d = await device();
      return d.bytecode?.name === "variant.bpf.o" && d.health === "ok" ? d : undefined;
    });
    expect(shown.interfacesAttached).toEqual([b.outer]);
    // Attachments moved to the new programs: the interface was never detached by the agent's rules.
    expect(
      (agent as AgentProcess).lines.slice(from).some((l) => l.text.includes(`detached from ${b.outer}`)),
    ).toBe(false);
  }, 60_000);

  it("keeps capturing and spools while the console is down, then replays: stored totals equal the kernel's counters", async () => {
    await consoleServer.stop();
    await udpBurst(b, 40);
    await until(
      "a batch spooled on disk",
      async () =>
        readdirSync(join(stateDir, "spool")).some((f) => f.endsWith(".json.gz")) ? true : undefined,
      40_000,
    );
    const from = agent?.lines.length ?? 0;
    await consoleServer.listen();
    await (agent as AgentProcess).waitFor("console accepts flow batches again", 60_000, from);
    // SIGTERM: the last interval is drained and shipped before exit 0.
    expect(await (agent as AgentProcess).stop()).toBe(0);
    const after = counters(b.outer);
    expect(readdirSync(join(stateDir, "spool")).filter((f) => f.endsWith(".json.gz"))).toEqual([]);
    const egress = await consoleServer.storedTotals(
      deviceId,
      `interface = '${b.outer}' and direction = 'egress'`,
    );
    const ingress = await consoleServer.storedTotals(
      deviceId,
      `interface = '${b.outer}' and direction = 'ingress'`,
    );
    const tx = after.txPackets - bBefore.txPackets;
    const rx = after.rxPackets - bBefore.rxPackets;
    expect(egress.packets).toBe(tx);
    expect(egress.bytes).toBe(after.txBytes - bBefore.txBytes - 14 * tx);
    expect(ingress.packets).toBe(rx);
    expect(ingress.bytes).toBe(after.rxBytes - bBefore.rxBytes - 14 * rx);
    expect(tx).toBeGreaterThanOrEqual(45);
  }, 180_000);

  it("restarts capturing from its saved config, and exits 1 telling to enroll again once the device is deleted", async () => {
    agent = AgentProcess.start(["run", "--state-dir", stateDir]);
    await agent.waitFor("applied (saved by an earlier run)");
    await agent.waitFor(`attached to ${b.outer} `);
    await consoleServer.restOk("DELETE", `/devices/${deviceId}`);
    expect(await agent.exited).toBe(1);
    expect(agent.log()).toContain(
      "credential refused: the device was deleted or the credential rotated; enroll again",
    );
  }, 90_000);
});
