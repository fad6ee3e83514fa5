import { type ChildProcess, execFile, spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { kubeSnapshotSchema, kubetagsHealthSchema, kubetagsPaths } from "@kernflow/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { KubeApiStandin } from "./support/kube-api-standin";
import { node, pod, workload } from "./support/kube-api-standin-objects";

const agentDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(agentDir, "bin", "kernflow-agent.js");
/** An environment with no way to a cluster, so only the flags decide. */
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmpdir() };

function agent(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({
        code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
        stdout,
        stderr,
      });
    });
  });
}

let child: ChildProcess | null = null;
let standin: KubeApiStandin | null = null;
afterEach(async () => {
  if (child !== null && child.exitCode === null) child.kill("SIGKILL");
  child = null;
  await standin?.stop();
  standin = null;
});

describe("kernflow-agent kubetags", () => {
  it("prints its flags for --help and exits 0", async () => {
    const r = await agent("kubetags", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kernflow-agent kubetags/);
    for (const flag of ["--listen", "--kubeconfig", "--resync"]) expect(r.stdout).toContain(flag);
  });

  it("exits 2 saying what is missing when there is no cluster and no kubeconfig, or a bad flag", async () => {
    const none = await agent("kubetags");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("pass --kubeconfig FILE");
    const missing = await agent("kubetags", "--kubeconfig", "/nonexistent/kubeconfig");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot load /nonexistent/kubeconfig");
    const badListen = await agent("kubetags", "--listen", "8080");
    expect(badListen.code).toBe(2);
    expect(badListen.stderr).toContain("must be HOST:PORT");
  });

  it("runs against the stand-in API server, serves its maps and stops on SIGTERM with exit 0", async () => {
    standin = await KubeApiStandin.start();
    standin.apply(node("node-a", "10.0.0.10"));
    standin.apply(workload("ReplicaSet", "web-6b7c9", "default", { kind: "Deployment", name: "web" }));
    standin.apply(
      pod({
        name: "web-6b7c9-aaaaa",
        namespace: "default",
        node: "node-a",
        ips: ["10.244.1.3"],
        owner: { kind: "ReplicaSet", name: "web-6b7c9" },
      }),
    );
    const kubeconfig = standin.kubeconfigFile();
    const proc = spawn(
      process.execPath,
      [bin, "kubetags", "--listen", "127.0.0.1:0", "--kubeconfig", kubeconfig],
      {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child = proc;
    let stderr = "";
    const port = await new Promise<number>((resolve, reject) => {
      proc.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        const m = /listening on [^\s]+:(\d+)/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      proc.on("exit", (code) => reject(new Error(`kubetags exited ${code}: ${stderr}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const until = Date.now() + 15_000;
    let health = await fetch(base + kubetagsPaths.health);
    while (health.status !== 200 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      health = await fetch(base + kubetagsPaths.health);
    }
    expect(kubetagsHealthSchema.parse(await health.json()).ok).toBe(true);
    const snap = kubeSnapshotSchema.parse(await (await fetch(base + kubetagsPaths.snapshot)).json());
    expect(snap.ips.find((e) => e.ip === "10.244.1.3")?.workload).toEqual({
      kind: "Deployment",
      name: "web",
      namespace: "default",
    });
    const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
    proc.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/kubetags stopped at version \d+ \(2 IPs, 1 containers\)/);
  });
});
