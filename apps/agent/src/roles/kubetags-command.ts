import { parseArgs } from "node:util";
import { z } from "zod";
import type { CliIo } from "../cli";
import { describeFailure } from "../cli";
import { parseDuration, UsageError } from "../cli-flags";
import { KubeConfigError, loadKubeConfig } from "../kube/kubeconfig";

export const kubetagsHelp = `Usage: kernflow-agent kubetags [--listen HOST:PORT] [--kubeconfig FILE] [flags]

Watches the Kubernetes API (pods, services, nodes, replicasets, deployments, statefulsets, daemonsets,
jobs, cronjobs) and serves IP → object (pod, service, node) and container id → pod/container/workload
maps to aggregators: GET /v1/snapshot, GET /v1/changes?epoch=E&since=V&wait_ms=N, /healthz, /metrics.
In a pod it uses its service account (needs get/list/watch on those resources, nothing else).

Flags:
  --listen HOST:PORT     where aggregators fetch the maps (default 0.0.0.0:8080)
  --kubeconfig FILE      kubeconfig to use instead of the in-cluster service account (default: in cluster,
                         else $KUBECONFIG)
  --resync DURATION      re-derive every entry from the informer caches this often (default 10m; 0s: never)
  -h, --help             show this help
`;

const listenAddress = z.string().transform((text, ctx) => {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : Number.NaN;
  if (match === null || port > 65535) {
    ctx.addIssue({ code: "custom", message: `--listen "${text}" must be HOST:PORT, e.g. 0.0.0.0:8080` });
    return z.NEVER;
  }
  return { host: (match[1] as string).replace(/^\[(.*)\]$/, "$1"), port };
});

const flagsSchema = z.object({
  listen: listenAddress,
  kubeconfig: z.string().min(1, "--kubeconfig must name a file").optional(),
  resync: z.string().transform((text, ctx) => {
    if (text === "0" || text === "0s") return 0;
    try {
      const ms = parseDuration(text);
      if (ms < 10_000) throw new UsageError("--resync must be at least 10s (or 0s to turn it off)");
      return ms;
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `--resync: ${(error as Error).message}` });
      return z.NEVER;
    }
  }),
});

export type KubetagsFlags = z.infer<typeof flagsSchema>;

/** Returns null when help was asked for. */
export function parseKubetagsFlags(argv: readonly string[]): KubetagsFlags | null {
  let parsedArgs: ReturnType<typeof parseArgs>;
  try {
    parsedArgs = parseArgs({
      args: [...argv],
      options: {
        listen: { type: "string" },
        kubeconfig: { type: "string" },
        resync: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
  const { values, positionals } = parsedArgs;
  if (values.help) return null;
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const parsed = flagsSchema.safeParse({
    listen: values.listen ?? "0.0.0.0:8080",
    kubeconfig: values.kubeconfig,
    resync: values.resync ?? "10m",
  });
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join("; "));
  return parsed.data;
}

/** `kernflow-agent kubetags`: runs until SIGINT/SIGTERM; exit 2 for bad flags or an unusable kubeconfig. */
export async function runKubetagsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const fail = (message: string, code: number) => {
    io.stderr.write(`kernflow-agent kubetags: ${message}\n`);
    if (code === 2) io.stderr.write("Run 'kernflow-agent kubetags --help' for usage.\n");
    return code;
  };
  let flags: KubetagsFlags | null;
  try {
    flags = parseKubetagsFlags(argv);
  } catch (error) {
    if (error instanceof UsageError) return fail(error.message, 2);
    throw error;
  }
  if (flags === null) {
    io.stdout.write(kubetagsHelp);
    return 0;
  }
  const env = io.env ?? process.env;
  let kubeConfig: ReturnType<typeof loadKubeConfig>;
  try {
    kubeConfig = loadKubeConfig(flags.kubeconfig, env);
  } catch (error) {
    if (error instanceof KubeConfigError) return fail(error.message, 2);
    throw error;
  }
  const log = (message: string) => io.stderr.write(`kernflow-agent: ${message}\n`);
  try {
    const { runKubetags } = await import("./kubetags");
    const last = await runKubetags(
      { kubeConfig, host: flags.listen.host, port: flags.listen.port, resyncMs: flags.resync, log },
      io.signal,
    );
    log(`kubetags stopped at version ${last.version} (${last.ips} IPs, ${last.containers} containers)`);
    return 0;
  } catch (error) {
    return fail(`failed: ${describeFailure(error, env.KERNFLOW_DEBUG === "1")}`, 1);
  }
}
