// Shared by the fleet tests: a real HTTP server in front of the agent protocol and REST handlers, and the
// messages a capture agent sends.
import { randomUUID } from "node:crypto";
import type { FlowStore } from "@kernflow/db";
import {
  type AgentStatus,
  agentPaths,
  type CheckInResponse,
  type EnrollResponse,
  type HostFacts,
} from "@kernflow/protocol";
import { afterAll, beforeAll } from "vitest";
import { stopConfigChangeRelay } from "../src/agent/config-bus";
import { waitingCheckIns } from "../src/agent/config-waiters";
import { listenFetch } from "../src/agent/node-server";
import { handleAgentRequest, handleRestRequest } from "../src/index";
import { createHarness, type Harness } from "./harness";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the tests' assertions
type Json = any;

export interface FleetServer {
  url: string;
  close(): Promise<void>;
}

export async function startFleetServer(h: Harness, flowStore?: FlowStore): Promise<FleetServer> {
  const { url, close } = await listenFetch((request) =>
    new URL(request.url).pathname.startsWith("/api/agent/")
      ? handleAgentRequest(request, { db: h.db, ...(flowStore ? { flowStore } : {}) })
      : handleRestRequest(request, h.deps),
  );
  return { url, close };
}

/** A test file's harness and fleet server, set up before its tests and closed after them. */
export interface Fleet {
  h: Harness;
  server: FleetServer;
  /** Only with `useFleetServer({ flowStore })`. */
  flowStore?: FlowStore;
  /** A REST call as the harness admin. */
  asAdmin(method: string, path: string, body?: unknown): ReturnType<typeof http>;
  /** A new plan and token, and a device enrolled with it (its credential, host facts and id). */
  enrolled(options?: { maxDevices?: number }): Promise<EnrolledDevice>;
}
export type EnrolledDevice = Awaited<ReturnType<typeof planAndToken>> & {
  credential: string;
  host: HostFacts;
  id: string;
};

/**
 * Registers the file's beforeAll/afterAll: a harness (database, users) and a fleet server in front of it,
 * optionally with a flow store made by `flowStore(databaseUrl)`. The fields are set once beforeAll ran.
 */
export function useFleetServer(options: { flowStore?: (databaseUrl: string) => FlowStore } = {}): Fleet {
  const fleet = {
    asAdmin: (method: string, path: string, body?: unknown) =>
      http(fleet.server, method, `/api/v1${path}`, { bearer: fleet.h.users.admin.token, body }),
    enrolled: async (enrollOptions: { maxDevices?: number } = {}) => {
      const made = await planAndToken(fleet.h, fleet.server, enrollOptions);
      const res = await enroll(fleet.server, made.secret);
      return {
        ...made,
        credential: res.body.credential as string,
        host: res.host,
        id: res.body.device.id as string,
      };
    },
  } as Fleet;
  beforeAll(async () => {
    fleet.h = await createHarness();
    if (options.flowStore) fleet.flowStore = options.flowStore(fleet.h.database.url);
    fleet.server = await startFleetServer(fleet.h, fleet.flowStore);
  });
  afterAll(async () => {
    await stopConfigChangeRelay();
    await fleet.server?.close();
    await fleet.flowStore?.close();
    await fleet.h?.cleanup();
  });
  return fleet;
}

/** Resolves once `count` check-ins are parked waiting, so a test announces only after they wait. */
export async function untilWaiting(count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (waitingCheckIns() < count) {
    if (Date.now() > deadline) throw new Error(`only ${waitingCheckIns()} check-ins waiting, not ${count}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function hostFacts(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    hostname: `host-${randomUUID().slice(0, 8)}`,
    machine_id: randomUUID().replaceAll("-", ""),
    kernel_release: "6.18.0-test",
    os: "Debian GNU/Linux 12",
    agent_version: "0.1.0",
    interfaces: ["lo", "eth0", "cali12ab", "tun0"],
    ...overrides,
  };
}

export function agentStatus(overrides: Partial<AgentStatus> = {}): AgentStatus {
  return {
    health: "ok",
    config_hash_applied: null,
    bytecode_sha256: null,
    interfaces_seen: ["lo", "eth0", "cali12ab", "tun0"],
    interfaces_attached: ["eth0", "cali12ab", "tun0"],
    map_overflow: 0,
    flows_per_second: 12.5,
    records_spooled: 0,
    errors: [],
    ...overrides,
  };
}

export async function http(
  server: FleetServer,
  method: string,
  path: string,
  options: { body?: unknown; bearer?: string } = {},
): Promise<{ status: number; body: Json; ms: number; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const started = performance.now();
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  let body: Json = text;
  if ((res.headers.get("content-type") ?? "").includes("json")) body = JSON.parse(text);
  return { status: res.status, body, ms, headers: res.headers };
}

/** Creates a plan and an enrollment token through REST as the harness admin. */
export async function planAndToken(
  h: Harness,
  server: FleetServer,
  options: { maxDevices?: number; maxUses?: number; deviceName?: string; namePrefix?: string } = {},
) {
  const plan = await http(server, "POST", "/api/v1/plans", {
    bearer: h.users.admin.token,
    body: {
      name: `plan-${randomUUID().slice(0, 8)}`,
      maxDevices: options.maxDevices ?? 10,
      maxFlowsPerSecond: 10_000,
      retentionDays: 7,
    },
  });
  if (plan.status !== 201) throw new Error(`plan: ${plan.status} ${JSON.stringify(plan.body)}`);
  const token = await http(server, "POST", "/api/v1/enrollment-tokens", {
    bearer: h.users.admin.token,
    body: {
      name: `token-${randomUUID().slice(0, 8)}`,
      planId: plan.body.id,
      expiresInHours: 1,
      maxUses: options.maxUses ?? 10,
      ...(options.deviceName ? { deviceName: options.deviceName } : {}),
      ...(options.namePrefix ? { namePrefix: options.namePrefix } : {}),
    },
  });
  if (token.status !== 201) throw new Error(`token: ${token.status} ${JSON.stringify(token.body)}`);
  return { plan: plan.body, token: token.body.token, secret: token.body.secret as string };
}

export async function enroll(server: FleetServer, secret: string, host = hostFacts()) {
  const res = await http(server, "POST", agentPaths.enroll, { body: { token: secret, host } });
  return { ...res, body: res.body as EnrollResponse & Json, host };
}

export async function checkIn(
  server: FleetServer,
  credential: string,
  host: HostFacts,
  options: { applied?: string | null; waitMs?: number; status?: Partial<AgentStatus> } = {},
) {
  const res = await http(server, "POST", agentPaths.checkIn, {
    bearer: credential,
    body: {
      host,
      status: agentStatus({ config_hash_applied: options.applied ?? null, ...options.status }),
      wait_ms: options.waitMs ?? 0,
    },
  });
  return { ...res, body: res.body as CheckInResponse & Json };
}
