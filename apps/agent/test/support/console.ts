/** A real kernflow console for the connected-mode tests: the api package's agent protocol, REST and tRPC
 * handlers on a Node HTTP server, over a fresh migrated PostgreSQL database (no mocks). It can be stopped
 * and started again on the same port, to play the console being away. */
import { randomUUID } from "node:crypto";
import {
  CSRF_HEADER,
  ensureBootstrapAdmin,
  FixedWindowRateLimiter,
  handleAgentRequest,
  handleRestRequest,
  handleTrpcRequest,
  listenFetch,
} from "@kernflow/api";
import { createFlowStore, type FlowStore } from "@kernflow/db";
import { createTestDatabase, type TestDatabase } from "@kernflow/db/testing";

// biome-ignore lint/suspicious/noExplicitAny: REST bodies are checked by the tests' assertions
type Json = any;

const adminEmail = "admin@kernflow.test";
const adminPassword = "connected-mode-test-password";

export class TestConsole {
  private server: { url: string; close(): Promise<void> } | undefined;
  private port = 0;
  token = "";

  private constructor(
    readonly database: TestDatabase,
    readonly flowStore: FlowStore,
  ) {}

  static async start(): Promise<TestConsole> {
    const database = await createTestDatabase();
    const console = new TestConsole(database, createFlowStore(database.url));
    await ensureBootstrapAdmin(database.prisma, {
      KERNFLOW_ADMIN_EMAIL: adminEmail,
      KERNFLOW_ADMIN_PASSWORD: adminPassword,
    });
    await console.listen();
    console.token = await console.createApiToken();
    return console;
  }

  get url(): string {
    if (!this.server) throw new Error("console is stopped");
    return this.server.url;
  }

  /** Serves again (on the port it had, so an agent configured with the URL finds it). */
  async listen(): Promise<void> {
    const db = this.database.prisma;
    const deps = { db, loginLimiter: new FixedWindowRateLimiter(1000, 60_000) };
    const agentDeps = { db, flowStore: this.flowStore };
    this.server = await listenFetch(
      (request) => {
        const path = new URL(request.url).pathname;
        if (path.startsWith("/api/agent/")) return handleAgentRequest(request, agentDeps);
        if (path.startsWith("/api/trpc/")) return handleTrpcRequest(request, deps);
        return handleRestRequest(request, deps);
      },
      { port: this.port },
    );
    this.port = Number(new URL(this.server.url).port);
  }

  /** Stops answering: connections are refused until {@link listen}. */
  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.flowStore.close();
    await this.database.cleanup();
  }

  private async trpc(path: string, input: unknown, headers: Record<string, string> = {}) {
    const host = new URL(this.url).host;
    const res = await fetch(`${this.url}/api/trpc/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", host, origin: `http://${host}`, ...headers },
      body: JSON.stringify({ json: input }),
    });
    const body = (await res.json()) as Json;
    if (res.status !== 200) throw new Error(`tRPC ${path}: ${res.status} ${JSON.stringify(body)}`);
    return { data: body.result.data.json as Json, headers: res.headers };
  }

  /** Logs in as the bootstrap admin and makes an API token, the way an operator scripting REST would. */
  private async createApiToken(): Promise<string> {
    const login = await this.trpc("auth.login", { email: adminEmail, password: adminPassword });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const created = await this.trpc(
      "apiTokens.create",
      { name: "connected-mode tests" },
      { cookie, [CSRF_HEADER]: login.data.csrfToken },
    );
    return created.data.secret as string;
  }

  async rest(method: string, path: string, body?: unknown, raw?: { bytes: Buffer; query: string }) {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    let payload: Buffer | string | undefined;
    if (raw) {
      headers["content-type"] = "application/octet-stream";
      payload = raw.bytes;
    } else if (body !== undefined) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const res = await fetch(`${this.url}/api/v1${path}${raw ? `?${raw.query}` : ""}`, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Json };
  }

  async restOk(method: string, path: string, body?: unknown, raw?: { bytes: Buffer; query: string }) {
    const res = await this.rest(method, path, body, raw);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** A plan and an enrollment token for it; returns the token's secret. */
  async planAndToken(): Promise<{ planId: string; secret: string }> {
    const plan = await this.restOk("POST", "/plans", {
      name: `plan-${randomUUID().slice(0, 8)}`,
      maxDevices: 10,
      maxFlowsPerSecond: 1_000_000,
      retentionDays: 7,
    });
    const token = await this.restOk("POST", "/enrollment-tokens", {
      name: `token-${randomUUID().slice(0, 8)}`,
      planId: plan.id,
      expiresInHours: 1,
      maxUses: 10,
    });
    return { planId: plan.id, secret: token.secret };
  }

  /** Sums of the records the console stored for a device, straight from the flow tables. */
  async storedTotals(
    deviceId: string,
    where = "true",
  ): Promise<{ packets: number; bytes: number; records: number }> {
    const rows = await this.database.prisma.$queryRawUnsafe<
      { packets: bigint; bytes: bigint; records: bigint }[]
    >(
      `select coalesce(sum(packets),0)::bigint as packets, coalesce(sum(bytes),0)::bigint as bytes,
              count(*)::bigint as records
         from flows.records where device_id = $1::uuid and (${where})`,
      deviceId,
    );
    const row = rows[0] as { packets: bigint; bytes: bigint; records: bigint };
    return { packets: Number(row.packets), bytes: Number(row.bytes), records: Number(row.records) };
  }
}
