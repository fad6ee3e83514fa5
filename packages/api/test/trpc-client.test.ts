// The console's own wiring, end to end: @trpc/client with httpBatchLink and superjson (as apps/web uses it)
// talking to handleTrpcRequest, with a cookie jar standing in for the browser.
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppRouter, CSRF_HEADER, handleTrpcRequest } from "../src/index";
import { BASE, createHarness, type Harness, PASSWORD } from "./harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h?.cleanup());

function browser() {
  let cookie: string | null = null;
  let csrf: string | null = null;
  const client = createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${BASE}/api/trpc`,
        transformer: superjson,
        headers: () => ({
          host: "console.test",
          ...(cookie ? { cookie } : {}),
          ...(csrf ? { [CSRF_HEADER]: csrf } : {}),
        }),
        fetch: async (input, init) => {
          const res = await handleTrpcRequest(new Request(input as string, init as RequestInit), h.deps);
          const set = res.headers.get("set-cookie");
          if (set) cookie = set.split(";")[0] ?? null;
          return res;
        },
      }),
    ],
  });
  return { client, setCsrf: (token: string | null) => (csrf = token) };
}

describe("the console's tRPC client against handleTrpcRequest", () => {
  it("logs in, batches queries, and mutates with the CSRF token from auth.session", async () => {
    const { client, setCsrf } = browser();
    expect(await client.auth.session.query()).toBeNull();
    await client.auth.login.mutate({ email: h.users.admin.email, password: PASSWORD });

    // Both queries travel in one batched HTTP request.
    const [session, plans] = await Promise.all([client.auth.session.query(), client.plans.list.query()]);
    expect(session?.user.email).toBe(h.users.admin.email);
    expect(session?.expiresAt).toBeInstanceOf(Date);
    expect(plans).toEqual([]);

    const refused = await client.plans.create
      .mutate({ name: "from-client", maxDevices: 2, maxFlowsPerSecond: 10, retentionDays: 3 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TRPCClientError);
    expect((refused as TRPCClientError<AppRouter>).data?.httpStatus).toBe(403);

    setCsrf(session?.csrfToken ?? null);
    const plan = await client.plans.create.mutate({
      name: "from-client",
      maxDevices: 2,
      maxFlowsPerSecond: 10,
      retentionDays: 3,
    });
    expect(plan.createdAt).toBeInstanceOf(Date);
  });

  it("surfaces validation errors with per-field messages in error.data", async () => {
    const { client } = browser();
    await client.auth.login.mutate({ email: h.users.admin.email, password: PASSWORD });
    const session = await client.auth.session.query();
    const error = await client.audit.list.query({ limit: 0 }).catch((e: unknown) => e);
    expect(session).not.toBeNull();
    expect(error).toBeInstanceOf(TRPCClientError);
    const clientError = error as TRPCClientError<AppRouter>;
    expect(clientError.message).toMatch(/^limit: /);
    expect(clientError.data?.httpStatus).toBe(400);
    expect(clientError.data?.fieldErrors).toEqual({ limit: [expect.stringContaining(">=1")] });
  });
});
