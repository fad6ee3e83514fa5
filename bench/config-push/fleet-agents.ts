// The simulated agents' side of the fleet benchmark: HTTP with keep-alive, the check-in message, and the
// small statistics and /proc readings the report needs.
import { readFileSync } from "node:fs";
import http from "node:http";
import {
  type AgentStatus,
  agentPaths,
  type CheckInResponse,
  checkInResponseSchema,
  type HostFacts,
} from "@kernflow/protocol";

export const keepAlive = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

/** A kept-alive socket the server closed just as it was reused fails once; such a request is sent again. */
export async function request(
  base: string,
  method: string,
  path: string,
  body: unknown,
  bearer?: string,
): Promise<{ status: number; json: unknown }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await requestOnce(base, method, path, body, bearer);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (attempt >= 3 || (code !== "ECONNRESET" && code !== "EPIPE")) throw error;
    }
  }
}

function requestOnce(
  base: string,
  method: string,
  path: string,
  body: unknown,
  bearer?: string,
): Promise<{ status: number; json: unknown }> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent: keepAlive,
        headers: {
          ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          try {
            resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null });
          } catch (error) {
            reject(
              new Error(`${method} ${path}: not JSON (${res.statusCode}): ${text.slice(0, 200)}`, {
                cause: error,
              }),
            );
          }
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

export async function must(
  promise: Promise<{ status: number; json: unknown }>,
  expected: number,
  what: string,
): Promise<unknown> {
  const res = await promise;
  if (res.status !== expected) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

export interface SimAgent {
  index: number;
  host: HostFacts;
  credential: string;
  deviceId: string;
  applied: string | null;
  /** When the agent received each config hash, for propagation measurements. */
  receivedAt: Map<string, number>;
}

function status(applied: string | null): AgentStatus {
  return {
    health: "ok",
    config_hash_applied: applied,
    bytecode_sha256: null,
    interfaces_seen: ["lo", "eth0", "cali1", "tun0"],
    interfaces_attached: ["eth0"],
    map_overflow: 0,
    flows_per_second: 10,
    records_spooled: 0,
    errors: [],
  };
}

export async function checkIn(base: string, agent: SimAgent, waitMs: number): Promise<CheckInResponse> {
  const json = await must(
    request(
      base,
      "POST",
      agentPaths.checkIn,
      { host: agent.host, status: status(agent.applied), wait_ms: waitMs },
      agent.credential,
    ),
    200,
    `check-in of agent ${agent.index}`,
  );
  return checkInResponseSchema.parse(json);
}

export async function inBatches<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export const ms = (v: number) => `${v.toFixed(1)} ms`;

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat (100 ticks/s). */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function rssMiB(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const statusText = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+)/.exec(statusText)?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}
