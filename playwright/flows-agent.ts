import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FlowQueryInput, type FlowQueryResult, flowQueryResultSchema } from "@kernflow/protocol";
import { z } from "zod";
import { AgentProcess } from "../apps/agent/test/support/agent-process";
import { ADMIN_EMAIL, ADMIN_PASSWORD } from "./test/constants";

/**
 * A real connected agent for the end-to-end flow tests and the live benchmark: a plan, an enrollment token
 * and a capture rule made through the console's REST API (with an API token, as an operator scripting it
 * would), then `kernflow-agent enroll` and `kernflow-agent run` as their own processes.
 */
const CSRF_HEADER = "x-kernflow-csrf";

const loginAnswer = z.object({
  result: z.object({ data: z.object({ json: z.object({ csrfToken: z.string() }) }) }),
});
const tokenAnswer = z.object({
  result: z.object({ data: z.object({ json: z.object({ secret: z.string() }) }) }),
});
const created = z.object({ id: z.string() });
const createdToken = z.object({ secret: z.string() });
const agentState = z.object({ device: z.object({ id: z.string(), name: z.string() }) });

export class ConsoleApi {
  private constructor(
    readonly url: string,
    private readonly token: string,
    private readonly sessionCookie: string,
  ) {}

  /** Signs in as the administrator (tRPC, like the browser) and makes an API token for REST. */
  static async signIn(url: string, email = ADMIN_EMAIL, password = ADMIN_PASSWORD): Promise<ConsoleApi> {
    const host = new URL(url).host;
    const call = async (path: string, input: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${url}/api/trpc/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: `http://${host}`, ...headers },
        body: JSON.stringify({ json: input }),
      });
      if (response.status !== 200)
        throw new Error(`tRPC ${path}: ${response.status} ${await response.text()}`);
      return { body: (await response.json()) as unknown, headers: response.headers };
    };
    const login = await call("auth.login", { email, password });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const csrf = loginAnswer.parse(login.body).result.data.json.csrfToken;
    const apiToken = await call(
      "apiTokens.create",
      { name: `flows-e2e-${randomUUID().slice(0, 8)}` },
      {
        cookie,
        [CSRF_HEADER]: csrf,
      },
    );
    return new ConsoleApi(url, tokenAnswer.parse(apiToken.body).result.data.json.secret, cookie);
  }

  /** `flows.query` over tRPC with the session cookie: the very request the explorer page sends. */
  async flowsQuery(input: FlowQueryInput): Promise<FlowQueryResult> {
    const search = new URLSearchParams({ input: JSON.stringify({ json: input }) });
    const response = await fetch(`${this.url}/api/trpc/flows.query?${search}`, {
      headers: { cookie: this.sessionCookie },
    });
    if (response.status !== 200) throw new Error(`flows.query: ${response.status} ${await response.text()}`);
    return z
      .object({ result: z.object({ data: z.object({ json: flowQueryResultSchema }) }) })
      .parse(await response.json()).result.data.json;
  }

  async rest(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : null;
  }

  /** A plan whose capture rule takes exactly these interfaces, and a token to enroll into it. */
  async planCapturing(interfaces: readonly string[]): Promise<{ planId: string; enrollmentSecret: string }> {
    const suffix = randomUUID().slice(0, 8);
    const plan = created.parse(
      await this.rest("POST", "/plans", {
        name: `flows-e2e-${suffix}`,
        maxDevices: 5,
        maxFlowsPerSecond: 1_000_000,
        retentionDays: 7,
      }),
    );
    await this.rest("POST", "/capture-rules", {
      scope: "plan",
      planId: plan.id,
      name: `flows-e2e-${suffix}`,
      include: interfaces,
    });
    const token = createdToken.parse(
      await this.rest("POST", "/enrollment-tokens", {
        name: `flows-e2e-${suffix}`,
        planId: plan.id,
        expiresInHours: 1,
        maxUses: 1,
      }),
    );
    return { planId: plan.id, enrollmentSecret: token.secret };
  }
}

export interface ConnectedAgent {
  deviceId: string;
  deviceName: string;
  process: AgentProcess;
  stop(): Promise<void>;
}

/** Enrolls a fresh agent (its own state folder) and runs it until it has attached to `waitForInterface`. */
export async function startConnectedAgent(
  consoleUrl: string,
  enrollmentSecret: string,
  waitForInterface: string,
): Promise<ConnectedAgent> {
  const stateDir = mkdtempSync(join(tmpdir(), "kf-flows-agent-"));
  const enrolled = await AgentProcess.once([
    "enroll",
    ...["--server", consoleUrl, "--token", enrollmentSecret, "--state-dir", stateDir],
  ]);
  if (enrolled.code !== 0) {
    rmSync(stateDir, { recursive: true, force: true });
    throw new Error(`kernflow-agent enroll failed (${enrolled.code}): ${enrolled.stderr}`);
  }
  const state = agentState.parse(JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8")));
  const agent = AgentProcess.start(["run", "--state-dir", stateDir]);
  const stop = async () => {
    await agent.stop();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await agent.waitFor(`attached to ${waitForInterface} `, 60_000);
  } catch (error) {
    await stop();
    throw new Error(`the agent did not attach to ${waitForInterface}: ${String(error)}\n${agent.log()}`);
  }
  return { deviceId: state.device.id, deviceName: state.device.name, process: agent, stop };
}
