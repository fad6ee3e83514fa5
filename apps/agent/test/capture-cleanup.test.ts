import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { programName, tcxProgramIds } from "../src/bpf/tc";
import { kernelTestsUnavailable, RunningCapture, repoRoot, run, VethLink } from "./capture-harness";

const unavailable = kernelTestsUnavailable();

function tcFilters(ifname: string): string {
  return ["ingress", "egress"].map((dir) => run("tc", "filter", "show", "dev", ifname, dir)).join("");
}

/** tcx programs on the interface, as the kernel reports them (BPF_PROG_QUERY by ifindex). */
function tcxPrograms(ifindex: number): { id: number; name: string | undefined }[] {
  return (["ingress", "egress"] as const).flatMap((dir) =>
    tcxProgramIds(ifindex, dir).map((id) => ({ id, name: programName(id) })),
  );
}

/** Program ids of the BPF links that `bpftool link show` lists. */
function linkedProgramIds(): Set<number> {
  const links = JSON.parse(run("bpftool", "-j", "link", "show")) as { prog_id: number }[];
  return new Set(links.map((l) => l.prog_id));
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

/** A capture in a child process, so that it can be SIGKILLed. */
async function startChild(ifname: string, mode: "tcx" | "clsact") {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(repoRoot, "apps/agent/test/capture-child.ts"), ifname, mode],
    {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`child did not attach: ${stderr}`)), 30_000);
    child.once("exit", (code) => rej(new Error(`child exited ${code}: ${stderr}`)));
    if (!child.stdout) throw new Error("child needs a stdout pipe");
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line === "attached") {
        clearTimeout(timer);
        res();
      }
    });
  });
  return { child, exited };
}

describe.skipIf(unavailable !== null)("nothing stays attached", () => {
  let link: VethLink;

  beforeAll(() => {
    link = new VethLink().create();
  });
  afterAll(() => link?.destroy());

  it("removes its tcx links when it stops", async () => {
    const capture = await RunningCapture.start(link.outer);
    const attached = tcxPrograms(link.ifindex());
    expect(attached.map((p) => p.name).sort()).toEqual(["kf_tc_egress", "kf_tc_ingress"]);
    const linked = linkedProgramIds();
    for (const p of attached) expect(linked.has(p.id)).toBe(true);
    await capture.stop();
    expect(tcxPrograms(link.ifindex())).toEqual([]);
    const after = linkedProgramIds();
    for (const p of attached) expect(after.has(p.id)).toBe(false);
    expect(tcFilters(link.outer)).toBe("");
  });

  it("removes its clsact filters when it stops", async () => {
    const capture = await RunningCapture.start(link.outer, { attachMode: "clsact" });
    expect(tcFilters(link.outer)).toContain("kf_tc_ingress");
    expect(tcFilters(link.outer)).toContain("kf_tc_egress");
    await capture.stop();
    expect(tcFilters(link.outer)).toBe("");
    expect(tcxPrograms(link.ifindex())).toEqual([]);
  });

  it("leaves no tcx link behind when killed with SIGKILL", async () => {
    const { child, exited } = await startChild(link.outer, "tcx");
    const attached = tcxPrograms(link.ifindex());
    expect(attached).toHaveLength(2);
    child.kill("SIGKILL");
    await exited;
    expect(await until(() => tcxPrograms(link.ifindex()).length === 0)).toBe(true);
    const linked = linkedProgramIds();
    for (const p of attached) expect(linked.has(p.id)).toBe(false);
  });

  it("removes on start the clsact filters that a SIGKILLed run left", async () => {
    const { child, exited } = await startChild(link.outer, "clsact");
    child.kill("SIGKILL");
    await exited;
    // clsact filters outlive their process: this is what the next start must clean.
    expect(tcFilters(link.outer)).toContain("kf_tc_ingress");
    const capture = await RunningCapture.start(link.outer);
    expect(capture.logs).toContain(`removed 2 tc filter(s) left on ${link.outer} by an earlier run`);
    expect(tcFilters(link.outer)).toBe("");
    await capture.stop();
    expect(tcFilters(link.outer)).toBe("");
    expect(tcxPrograms(link.ifindex())).toEqual([]);
  });
});
