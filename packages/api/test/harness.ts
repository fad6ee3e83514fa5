// Shared set-up for the api integration tests: a fresh migrated database per test file, users of every role
// inserted through the real services, and builders of real Request objects for both HTTP faces.
import type { PrismaClient, Role } from "@kernflow/db";
import { createTestDatabase, type TestDatabase } from "@kernflow/db/testing";
import superjson from "superjson";
import {
  type ApiDeps,
  CSRF_HEADER,
  createCaller,
  createContext,
  FixedWindowRateLimiter,
  handleRestRequest,
  handleTrpcRequest,
} from "../src/index";
import { createApiToken } from "../src/services/api-tokens";
import { hashPassword } from "../src/services/passwords";

export const BASE = "http://console.test";

// Response bodies are whatever the server sent; the tests' assertions are what check their shape.
// biome-ignore lint/suspicious/noExplicitAny: see above
type ResponseJson = any;
export const PASSWORD = "a-long-test-password";

export interface TestUser {
  id: string;
  email: string;
  role: Role;
  token: string;
}

export interface Harness {
  db: PrismaClient;
  deps: ApiDeps;
  database: TestDatabase;
  users: Record<Role, TestUser>;
  cleanup(): Promise<void>;
}

let passwordHash: Promise<string> | undefined;

export async function insertUser(db: PrismaClient, role: Role, email: string): Promise<TestUser> {
  passwordHash ??= hashPassword(PASSWORD);
  const user = await db.user.create({
    data: { email, name: `${role} user`, role, passwordHash: await passwordHash },
  });
  const { secret } = await createApiToken(db, { userId: user.id, label: email, ip: null }, "test");
  return { id: user.id, email, role, token: secret };
}

export async function createHarness(): Promise<Harness> {
  const database = await createTestDatabase();
  const db = database.prisma;
  const users = {
    member: await insertUser(db, "member", "member@example.com"),
    admin: await insertUser(db, "admin", "admin@example.com"),
    super_admin: await insertUser(db, "super_admin", "root@example.com"),
  };
  // A generous limiter of its own per harness, so the per-IP limit never leaks between test files.
  const deps: ApiDeps = { db, loginLimiter: new FixedWindowRateLimiter(1000, 60_000) };
  return { db, deps, database, users, cleanup: () => database.cleanup() };
}

/** A server-side caller authenticated by the user's API token, as the REST adapter makes them. */
export async function callerAs(h: Harness, user: TestUser, ip = "192.0.2.10") {
  const req = new Request(`${BASE}/api/trpc`, {
    headers: { authorization: `Bearer ${user.token}`, "x-forwarded-for": ip },
  });
  return createCaller(await createContext(req, h.deps, { acceptSessionCookie: true }));
}

export function restRequest(
  method: string,
  path: string,
  options: {
    token?: string;
    body?: unknown;
    rawBody?: RequestInit["body"];
    headers?: Record<string, string>;
  } = {},
): Request {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: RequestInit["body"] | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] = "application/json";
  }
  return new Request(`${BASE}/api/v1${path}`, { method, headers, body });
}

export async function rest(h: Harness, ...args: Parameters<typeof restRequest>) {
  const res = await handleRestRequest(restRequest(...args), h.deps);
  return { status: res.status, headers: res.headers, body: (await res.json()) as ResponseJson };
}

/** A browser-like tRPC call over HTTP: superjson envelope, optional cookie and CSRF header. */
export async function trpc(
  h: Harness,
  type: "query" | "mutation",
  path: string,
  input: unknown,
  options: { cookie?: string; csrf?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { host: "console.test", ...options.headers };
  if (options.cookie) headers.cookie = options.cookie;
  if (options.csrf) headers[CSRF_HEADER] = options.csrf;
  let req: Request;
  if (type === "query") {
    const query =
      input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`;
    req = new Request(`${BASE}/api/trpc/${path}${query}`, { headers });
  } else {
    headers["content-type"] = "application/json";
    req = new Request(`${BASE}/api/trpc/${path}`, {
      method: "POST",
      headers,
      body: JSON.stringify(superjson.serialize(input ?? null)),
    });
  }
  const res = await handleTrpcRequest(req, h.deps);
  const raw = (await res.json()) as ResponseJson;
  const data = raw.result ? superjson.deserialize(raw.result.data) : undefined;
  const error = raw.error ? (superjson.deserialize(raw.error) as ResponseJson) : undefined;
  return { status: res.status, headers: res.headers, data: data as ResponseJson, error };
}

/** Logs in over HTTP and returns the session cookie pair ("kf_session=...") and CSRF token. */
export async function loginOverHttp(h: Harness, email: string, password = PASSWORD) {
  const res = await trpc(h, "mutation", "auth.login", { email, password });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.error?.message}`);
  const setCookie = res.headers.get("set-cookie") ?? "";
  return { cookie: setCookie.split(";")[0] ?? "", csrf: res.data.csrfToken as string, setCookie };
}
