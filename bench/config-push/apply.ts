/**
 * Config push benchmark (issue #4 target: a rule change reaches an agent and is applied in under 1 s, p99
 * over 100 changes). A real console (the api package's handlers over HTTP on a fresh PostgreSQL) and a
 * real agent (`kernflow-agent enroll` + `run` as processes, real eBPF on two veth pairs). Each round PATCHes
 * the plan's capture rule to the other veth through REST and times, from the moment the PATCH returned,
 * until the agent has attached to the new interface and detached from the old one (its log lines, read
 * as they arrive). Needs root.
 *
 *   npm run bench:config-push -w @kernflow/bench -- [--changes 100] [--json FILE]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { registerDefaultBytecode } from "@kernflow/api";
import { z } from "zod";
import { defaultBytecodePath } from "../../apps/agent/src/bpf/loader";
import { VethLink } from "../../apps/agent/test/capture-harness";
import { AgentProcess } from "../../apps/agent/test/support/agent-process";
import { TestConsole } from "../../apps/agent/test/support/console";

const argsSchema = z.object({
  changes: z.coerce.number().int().min(1).max(10_000).default(100),
  json: z.string().min(1).optional(),
});

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { changes: { type: "string" }, json: { type: "string" } } });
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) {
    process.stderr.write(`bench:config-push: ${z.prettifyError(parsed.error)}\n`);
    return 2;
  }
  const { changes } = parsed.data;
  if (process.getuid?.() !== 0) {
    process.stderr.write("bench:config-push: needs root (veth pairs, eBPF)\n");
    return 3;
  }
  const links = [new VethLink().create(), new VethLink().create()];
  const stateDir = mkdtempSync(join(tmpdir(), "kf-bench-push-"));
  let agent: AgentProcess | undefined;
  const consoleServer = await TestConsole.start();
  try {
    await registerDefaultBytecode(consoleServer.database.prisma, defaultBytecodePath());
    const { planId, secret } = await consoleServer.planAndToken();
    const names = links.map((l) => l.outer);
    const rule = await consoleServer.restOk("POST", "/capture-rules", {
      scope: "plan",
      planId,
      name: "bench",
      include: [names[0]],
    });
    const enrolled = await AgentProcess.once([
      "enroll",
      ...["--server", consoleServer.url, "--token", secret, "--state-dir", stateDir],
    ]);
    if (enrolled.code !== 0) throw new Error(`enroll failed: ${enrolled.stderr}`);
    agent = AgentProcess.start(["run", "--state-dir", stateDir]);
    await agent.waitFor(`attached to ${names[0]} `, 60_000);
    // Let the agent settle into its long-poll, as a fleet would be between changes.
    await new Promise((r) => setTimeout(r, 1_000));

    const fromReturn: number[] = [];
    const fromCall: number[] = [];
    for (let i = 1; i <= changes; i++) {
      const next = names[i % 2] as string;
      const previous = names[(i + 1) % 2] as string;
      const from = agent.lines.length;
      const called = performance.now();
      await consoleServer.restOk("PATCH", `/capture-rules/${rule.id}`, { include: [next] });
      const returned = performance.now();
      const attached = await agent.waitFor(`attached to ${next} `, 30_000, from);
      const detached = await agent.waitFor(`detached from ${previous}:`, 30_000, from);
      const applied = Math.max(attached.at, detached.at);
      // The agent may finish before the PATCH's response reaches us; that is 0 ms after it returned.
      fromReturn.push(Math.max(0, applied - returned));
      fromCall.push(applied - called);
      // Between changes the agent reports its state (wait 0) and goes back into its long-poll.
      await new Promise((r) => setTimeout(r, 150));
    }
    const sortedReturn = [...fromReturn].sort((a, b) => a - b);
    const sortedCall = [...fromCall].sort((a, b) => a - b);
    const result = {
      changes,
      from_api_return_ms: {
        p50: percentile(sortedReturn, 50),
        p99: percentile(sortedReturn, 99),
        max: sortedReturn.at(-1),
      },
      from_api_call_ms: {
        p50: percentile(sortedCall, 50),
        p99: percentile(sortedCall, 99),
        max: sortedCall.at(-1),
      },
      target_ms: 1000,
    };
    const ratio = (result.from_api_return_ms.p99 / result.target_ms).toFixed(3);
    process.stdout.write(
      `config push over ${changes} capture-rule changes (API call returned -> agent attached + detached):\n` +
        `  p50 ${result.from_api_return_ms.p50.toFixed(1)} ms, p99 ${result.from_api_return_ms.p99.toFixed(1)} ms, ` +
        `max ${result.from_api_return_ms.max?.toFixed(1)} ms; p99 / 1 s target = ${ratio}\n` +
        `  from the API call being made: p50 ${result.from_api_call_ms.p50.toFixed(1)} ms, ` +
        `p99 ${result.from_api_call_ms.p99.toFixed(1)} ms\n`,
    );
    if (parsed.data.json) writeFileSync(parsed.data.json, `${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    await agent?.stop();
    await consoleServer.close();
    for (const link of links) link.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
