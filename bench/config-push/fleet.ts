// Fleet benchmark (issue #4 targets): one console process holding N simulated agents in long-poll
// check-ins. Agents enroll for real over HTTP, then each keeps one check-in waiting on its own keep-alive
// connection. Measures:
//   - check-ins that must answer at once (wait_ms 0) while the whole fleet waits: p50/p99 vs the 200 ms target;
//   - a plan-wide capture-rule change (REST PATCH): time until every waiting agent got the new config;
//   - a device's own rule changed K times: time until that agent got it (p99 vs the 1 s target).
// The console runs in a child process (its own event loop and CPU), as it would in production.
//
//   npm run bench:fleet -w @kernflow/bench -- [--agents 2000] [--plan-changes 5] [--device-changes 100]
//                                            [--immediate 2000] [--json FILE]
import { type ChildProcess, fork } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { handleAgentRequest, handleRestRequest, listenFetch } from "@kernflow/api";
import { createTestDatabase, stopTestServer } from "@kernflow/db/testing";
import { agentPaths, enrollResponseSchema, type HostFacts } from "@kernflow/protocol";
import { z } from "zod";
import {
  checkIn,
  cpuSeconds,
  inBatches,
  keepAlive,
  ms,
  must,
  percentile,
  request,
  rssMiB,
  type SimAgent,
  waitFor,
} from "./fleet-agents";

const optionsSchema = z.object({
  agents: z.coerce.number().int().min(1).max(20_000).default(2000),
  planChanges: z.coerce.number().int().min(1).max(100).default(5),
  deviceChanges: z.coerce.number().int().min(1).max(1000).default(100),
  immediate: z.coerce.number().int().min(10).max(100_000).default(2000),
  json: z.string().optional(),
});
type Options = z.infer<typeof optionsSchema>;

const LONG_POLL_MS = 30_000;
const IMMEDIATE_TARGET_MS = 200;
const DEVICE_CHANGE_TARGET_MS = 1000;

function parseArgs(argv: string[]): Options {
  const raw: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] ?? "";
    if (!flag.startsWith("--") || argv[i + 1] === undefined) {
      console.error(
        `usage: fleet.ts [--agents N] [--plan-changes N] [--device-changes N] [--immediate N] [--json FILE]`,
      );
      process.exit(2);
    }
    raw[flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = argv[i + 1] as string;
  }
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) {
    console.error(parsed.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("\n"));
    process.exit(2);
  }
  return parsed.data;
}

// ---------------------------------------------------------------- console (child process)

async function serveConsole(): Promise<void> {
  const database = await createTestDatabase();
  const db = database.prisma;
  // An admin and an API token, inserted as the API token service would store them (SHA-256 only).
  const token = `kf_${randomBytes(32).toString("base64url")}`;
  const user = await db.user.create({
    data: { email: "bench@kernflow.local", name: "bench", role: "admin", passwordHash: "!" },
  });
  await db.apiToken.create({
    data: {
      name: "bench",
      prefix: token.slice(0, 11),
      tokenHash: createHash("sha256").update(token).digest("hex"),
      userId: user.id,
    },
  });
  const deps = { db };
  const server = await listenFetch((request) =>
    new URL(request.url).pathname.startsWith("/api/agent/")
      ? handleAgentRequest(request, deps)
      : handleRestRequest(request, deps),
  );
  process.stdout.write(`${JSON.stringify({ url: server.url, token })}\n`);
  const stop = async () => {
    // Check-ins still in flight fail as the database goes away; that is the end of the run, not news.
    console.error = () => {};
    await server.close().catch(() => {});
    await database.cleanup().catch(() => {});
    await stopTestServer().catch(() => {});
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("disconnect", () => void stop());
}

async function runBenchmark(options: Options): Promise<void> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ["--serve"], {
    stdio: ["ignore", "pipe", "inherit", "ipc"],
    execArgv: [
      "--import",
      "tsx",
      ...(process.env.FLEET_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.FLEET_CPU_PROF] : []),
    ],
  });
  try {
    const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`console exited (${code}) before it was ready`)));
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", (line) =>
        resolve(JSON.parse(line) as { url: string; token: string }),
      );
    });
    await measure(ready.url, ready.token, options, child.pid);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    keepAlive.destroy();
  }
}

async function measure(base: string, adminToken: string, options: Options, consolePid: number | undefined) {
  const admin = (method: string, path: string, body: unknown, expected: number) =>
    must(request(base, method, `/api/v1${path}`, body, adminToken), expected, `${method} ${path}`);

  const plan = (await admin(
    "POST",
    "/plans",
    { name: "fleet", maxDevices: options.agents, maxFlowsPerSecond: 1_000_000, retentionDays: 1 },
    201,
  )) as { id: string };
  const created = (await admin(
    "POST",
    "/enrollment-tokens",
    { name: "fleet", planId: plan.id, namePrefix: "sim-", expiresInHours: 1, maxUses: options.agents },
    201,
  )) as { secret: string };

  // Enroll every agent for real.
  const agents: SimAgent[] = [];
  const enrollStarted = performance.now();
  await inBatches(
    Array.from({ length: options.agents }, (_, i) => i),
    32,
    async (index) => {
      const host: HostFacts = {
        hostname: `node-${index}`,
        machine_id: randomUUID().replaceAll("-", ""),
        kernel_release: "6.18.0-bench",
        os: "Debian GNU/Linux 12",
        agent_version: "bench",
        interfaces: ["lo", "eth0", "cali1", "tun0"],
      };
      const json = await must(
        request(base, "POST", agentPaths.enroll, { token: created.secret, host }),
        201,
        "enroll",
      );
      const enrolled = enrollResponseSchema.parse(json);
      agents.push({
        index,
        host,
        credential: enrolled.credential,
        deviceId: enrolled.device.id,
        applied: null,
        receivedAt: new Map(),
      });
    },
  );
  const enrollSeconds = (performance.now() - enrollStarted) / 1000;
  console.log(
    `enrolled ${agents.length} agents in ${enrollSeconds.toFixed(1)} s (${(agents.length / enrollSeconds).toFixed(0)}/s)`,
  );

  // First check-in (answers at once: nothing applied yet), then every agent parks a long-poll.
  await inBatches(agents, 64, async (agent) => {
    const res = await checkIn(base, agent, 0);
    agent.applied = res.config_hash;
  });
  let running = true;
  let pollErrors = 0;
  const loops = agents.map(async (agent) => {
    while (running) {
      try {
        const res = await checkIn(base, agent, LONG_POLL_MS);
        if (res.config_hash !== agent.applied) {
          agent.receivedAt.set(res.config_hash, performance.now());
          agent.applied = res.config_hash;
        }
      } catch (error) {
        // Counted and reported; a real agent retries with backoff too.
        if (!running) return;
        pollErrors += 1;
        if (pollErrors <= 3) console.error(`check-in failed: ${String(error)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  });
  await new Promise((r) => setTimeout(r, 2000));
  console.log(`${agents.length} check-ins waiting; console RSS ${rssMiB(consolePid)?.toFixed(0) ?? "?"} MiB`);

  // Check-ins that must answer at once, while the fleet waits.
  const immediate: number[] = [];
  const immediateCpuStart = cpuSeconds(consolePid);
  await inBatches(
    Array.from({ length: options.immediate }, (_, i) => agents[i % agents.length] as SimAgent),
    16,
    async (agent) => {
      const started = performance.now();
      await checkIn(base, { ...agent, applied: "stale" }, 0);
      immediate.push(performance.now() - started);
    },
  );

  const immediateCpuMs = ((cpuSeconds(consolePid) - immediateCpuStart) * 1000) / options.immediate;

  // Plan-wide rule changes: time until every waiting agent has the new config.
  const rule = (await admin(
    "POST",
    "/capture-rules",
    { scope: "plan", planId: plan.id, name: "fleet", include: ["eth*"] },
    201,
  )) as { id: string };
  await waitFor(
    () => agents.every((a) => a.receivedAt.size >= 1),
    60_000,
    "the first plan rule to reach every agent",
  );
  const planRounds: {
    cpuPerAgentMs: number;
    patch: number;
    first: number;
    all: number;
    p50: number;
    p99: number;
  }[] = [];
  for (let round = 0; round < options.planChanges; round++) {
    const include = round % 2 === 0 ? ["eth*", "cali*"] : ["eth*"];
    const before = agents.map((a) => a.applied);
    const cpuStart = cpuSeconds(consolePid);
    const started = performance.now();
    await admin("PATCH", `/capture-rules/${rule.id}`, { include: [...include, `round${round}`] }, 200);
    const patched = performance.now() - started;
    await waitFor(
      () => agents.every((a, i) => a.applied !== before[i]),
      60_000,
      `plan change ${round} to reach every agent`,
    );
    const times = agents.map((a) => (a.receivedAt.get(a.applied as string) as number) - started);
    // Wake-up, answer and the re-poll that follows (settled after a pause), per agent.
    await new Promise((r) => setTimeout(r, 3000));
    const cpuPerAgentMs = ((cpuSeconds(consolePid) - cpuStart) * 1000) / agents.length;
    planRounds.push({
      cpuPerAgentMs,
      patch: patched,
      first: Math.min(...times),
      all: Math.max(...times),
      p50: percentile(times, 50),
      p99: percentile(times, 99),
    });
    await new Promise((r) => setTimeout(r, 500));
  }

  // One device's own rule changed many times: time until that agent has it.
  const target = agents[0] as SimAgent;
  const deviceRule = (await admin(
    "POST",
    "/capture-rules",
    { scope: "device", deviceId: target.deviceId, name: "one", include: ["tun*"] },
    201,
  )) as { id: string };
  await new Promise((r) => setTimeout(r, 300));
  const deviceTimes: number[] = [];
  for (let round = 0; round < options.deviceChanges; round++) {
    const before = target.applied;
    const started = performance.now();
    await admin("PATCH", `/capture-rules/${deviceRule.id}`, { include: ["tun*", `d${round}`] }, 200);
    await waitFor(() => target.applied !== before, 10_000, `device change ${round}`);
    deviceTimes.push((target.receivedAt.get(target.applied as string) as number) - started);
  }
  const rss = rssMiB(consolePid);
  running = false;

  const result = {
    agents: agents.length,
    enrollPerSecond: agents.length / enrollSeconds,
    consoleRssMiB: rss,
    immediateCheckIn: {
      count: immediate.length,
      p50: percentile(immediate, 50),
      p99: percentile(immediate, 99),
      consoleCpuMsEach: immediateCpuMs,
    },
    planChange: planRounds,
    pollErrors,
    loadAverage: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number),
    deviceChange: {
      count: deviceTimes.length,
      p50: percentile(deviceTimes, 50),
      p99: percentile(deviceTimes, 99),
    },
  };
  console.log("");
  console.log(
    `immediate check-ins with ${agents.length} waiting: n=${immediate.length} p50 ${ms(result.immediateCheckIn.p50)} p99 ${ms(result.immediateCheckIn.p99)}` +
      ` — ${(result.immediateCheckIn.p99 / IMMEDIATE_TARGET_MS).toFixed(2)}× the ${IMMEDIATE_TARGET_MS} ms target; console CPU ${immediateCpuMs.toFixed(2)} ms each`,
  );
  for (const [i, r] of planRounds.entries()) {
    console.log(
      `plan rule change ${i + 1}: every agent had it after ${ms(r.all)} (p50 ${ms(r.p50)}, p99 ${ms(r.p99)}; PATCH answered after ${ms(r.patch)}, first agent after ${ms(r.first)}; console CPU ${r.cpuPerAgentMs.toFixed(2)} ms per agent)`,
    );
  }
  console.log(
    `device rule change to its waiting agent: n=${deviceTimes.length} p50 ${ms(result.deviceChange.p50)} p99 ${ms(result.deviceChange.p99)}` +
      ` — ${(result.deviceChange.p99 / DEVICE_CHANGE_TARGET_MS).toFixed(3)}× the ${DEVICE_CHANGE_TARGET_MS} ms target (delivery only; applying is the agent's part)`,
  );
  console.log(
    `console RSS with the fleet waiting: ${rss?.toFixed(0) ?? "?"} MiB; failed long-polls: ${pollErrors}`,
  );
  console.log(
    `load average (1/5/15 min) at the end: ${result.loadAverage.join(" ")} on ${availableParallelism()} CPUs`,
  );
  if (options.json) writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
  // The loops end with their last long-poll when the console stops.
  void Promise.allSettled(loops);
}

if (process.argv.includes("--serve")) {
  await serveConsole();
} else {
  await runBenchmark(parseArgs(process.argv.slice(2)));
  process.exit(0);
}
