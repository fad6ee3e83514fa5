import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleRestRequest } from "../src/index";
import { createHarness, type Harness, rest, restRequest } from "./harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h?.cleanup());

const plan = (name: string) => ({ name, maxDevices: 4, maxFlowsPerSecond: 2000, retentionDays: 14 });

describe("REST authentication", () => {
  it("accepts an API token as Authorization: Bearer", async () => {
    const res = await rest(h, "GET", "/me", { token: h.users.admin.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      user: { id: h.users.admin.id, email: h.users.admin.email, name: "admin user", role: "admin" },
      authenticatedBy: "api_token",
    });
  });

  it("accepts the X-CH-Auth-Email + X-CH-Auth-API-Token pair only when the token belongs to that email", async () => {
    const ok = await rest(h, "GET", "/plans", {
      headers: { "X-CH-Auth-Email": h.users.member.email, "X-CH-Auth-API-Token": h.users.member.token },
    });
    expect(ok.status).toBe(200);
    const mismatched = await rest(h, "GET", "/plans", {
      headers: { "X-CH-Auth-Email": h.users.admin.email, "X-CH-Auth-API-Token": h.users.member.token },
    });
    expect(mismatched.status).toBe(401);
    expect(mismatched.body.error.code).toBe("UNAUTHORIZED");
    const half = await rest(h, "GET", "/plans", { headers: { "X-CH-Auth-API-Token": h.users.member.token } });
    expect(half.status).toBe(401);
    expect(half.body.error.message).toContain("must be sent together");
  });

  it("answers 401 with a JSON error for a missing, unknown or revoked token", async () => {
    const missing = await rest(h, "GET", "/plans");
    expect(missing).toMatchObject({
      status: 401,
      body: { error: { code: "UNAUTHORIZED", message: "Authentication required" } },
    });
    const unknown = await rest(h, "GET", "/plans", { token: "kf_not-a-real-token" });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.message).toBe("API token is unknown or revoked");

    const created = await rest(h, "POST", "/api-tokens", {
      token: h.users.member.token,
      body: { name: "to-revoke" },
    });
    expect(created.status).toBe(201);
    const secret = created.body.secret as string;
    expect((await rest(h, "GET", "/plans", { token: secret })).status).toBe(200);
    const revoked = await rest(h, "DELETE", `/api-tokens/${created.body.token.id}`, {
      token: h.users.member.token,
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    expect((await rest(h, "GET", "/plans", { token: secret })).status).toBe(401);
  });

  it("ignores the browser session cookie: automation must present a token", async () => {
    const res = await handleRestRequest(
      restRequest("GET", "/plans", { headers: { cookie: "kf_session=whatever" } }),
      h.deps,
    );
    expect(res.status).toBe(401);
  });

  it("answers 403 when the token's user lacks the role, and changes nothing", async () => {
    const res = await rest(h, "POST", "/plans", { token: h.users.member.token, body: plan("member-made") });
    expect(res).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } });
    expect(await h.db.plan.count({ where: { name: "member-made" } })).toBe(0);
    expect((await rest(h, "GET", "/users", { token: h.users.admin.token })).status).toBe(403);
    expect((await rest(h, "GET", "/audit", { token: h.users.member.token })).status).toBe(403);
  });
});

describe("REST plans", () => {
  it("creates (201), reads, updates and deletes a plan through the same procedures, with ISO dates", async () => {
    const token = h.users.admin.token;
    const created = await rest(h, "POST", "/plans", { token, body: plan("rest-plan") });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...plan("rest-plan"), deviceCount: 0, description: "" });
    expect(created.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const id = created.body.id as string;

    expect((await rest(h, "GET", `/plans/${id}`, { token })).body.name).toBe("rest-plan");
    const listed = await rest(h, "GET", "/plans", { token });
    expect(listed.body.map((p: { id: string }) => p.id)).toContain(id);

    const patched = await rest(h, "PATCH", `/plans/${id}`, { token, body: { maxDevices: 40 } });
    expect(patched).toMatchObject({ status: 200, body: { id, maxDevices: 40, retentionDays: 14 } });

    expect((await rest(h, "DELETE", `/plans/${id}`, { token })).status).toBe(200);
    expect((await rest(h, "GET", `/plans/${id}`, { token })).status).toBe(404);
    const actions = await h.db.auditEntry.findMany({ where: { targetId: id }, orderBy: { id: "asc" } });
    expect(actions.map((a) => a.action)).toEqual(["plans.create", "plans.update", "plans.delete"]);
  });

  it("answers 409 for a plan name that is taken", async () => {
    const token = h.users.admin.token;
    expect((await rest(h, "POST", "/plans", { token, body: plan("taken") })).status).toBe(201);
    const clash = await rest(h, "POST", "/plans", { token, body: plan("taken") });
    expect(clash).toEqual({
      status: 409,
      headers: expect.anything(),
      body: { error: { code: "CONFLICT", message: 'A plan named "taken" already exists' } },
    });
  });

  it("answers 400 naming the field when maxDevices would drop below the plan's devices", async () => {
    const token = h.users.admin.token;
    const created = await rest(h, "POST", "/plans", { token, body: plan("floor") });
    await h.db.device.createMany({
      data: [1, 2, 3].map((i) => ({ name: `floor-${i}`, planId: created.body.id })),
    });
    const res = await rest(h, "PATCH", `/plans/${created.body.id}`, { token, body: { maxDevices: 2 } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(
      'maxDevices (2) cannot be below the 3 devices already on plan "floor"',
    );
    const del = await rest(h, "DELETE", `/plans/${created.body.id}`, { token });
    expect(del.status).toBe(409);
  });

  it("answers 404 for an unknown plan and for an id that is not a UUID says which field is wrong", async () => {
    const token = h.users.member.token;
    const missing = await rest(h, "GET", "/plans/00000000-0000-4000-8000-00000000abcd", { token });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND" } } });
    const bad = await rest(h, "GET", "/plans/not-a-uuid", { token });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^id: /);
  });
});

describe("REST input errors", () => {
  it("answers 400 for malformed JSON", async () => {
    const res = await rest(h, "POST", "/plans", {
      token: h.users.admin.token,
      rawBody: '{"name": "broken",',
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "BAD_REQUEST" });
    expect(res.body.error.message).toMatch(/^Malformed JSON body: /);
    const array = await rest(h, "POST", "/plans", { token: h.users.admin.token, body: [1, 2] });
    expect(array.body.error.message).toBe("The JSON body must be an object");
  });

  it("answers 400 naming each bad field", async () => {
    const res = await rest(h, "POST", "/plans", {
      token: h.users.admin.token,
      body: { name: "typed", maxDevices: "ten", maxFlowsPerSecond: 5, retentionDays: 0, colour: "red" },
    });
    expect(res.status).toBe(400);
    const message = res.body.error.message as string;
    expect(message).toContain("maxDevices: Invalid input: expected number, received string");
    expect(message).toContain("retentionDays: must be between 1 and 3650");
    expect(message).toContain('Unrecognized key: "colour"');
    expect(message).not.toContain("maxFlowsPerSecond");
  });

  it("answers 413 for a body over 1 MiB by Content-Length, without reading it", async () => {
    const big = JSON.stringify({ ...plan("big"), description: "x".repeat(1024 * 1024) });
    const res = await rest(h, "POST", "/plans", {
      token: h.users.admin.token,
      rawBody: big,
      headers: { "content-type": "application/json", "content-length": String(big.length) },
    });
    expect(res).toMatchObject({ status: 413, body: { error: { code: "PAYLOAD_TOO_LARGE" } } });
  });

  it("answers 413 for a streamed body over 1 MiB that declares no length", async () => {
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 20) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const req = new Request("http://console.test/api/v1/plans", {
      method: "POST",
      headers: { authorization: `Bearer ${h.users.admin.token}`, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(req.headers.get("content-length")).toBeNull();
    const res = await handleRestRequest(req, h.deps);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE");
    // Reading stopped soon after the limit instead of draining the whole upload.
    expect(sent).toBeLessThan(20);
  });

  it("converts query-string numbers for GET procedures and reports unconvertible ones by field", async () => {
    const ok = await rest(h, "GET", "/audit?limit=2", { token: h.users.admin.token });
    expect(ok.status).toBe(200);
    expect(ok.body.items).toHaveLength(2);
    const bad = await rest(h, "GET", "/audit?limit=lots", { token: h.users.admin.token });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^limit: .*expected number/);
  });

  it("answers 404 for an unknown path and 405 with Allow for a wrong method", async () => {
    const unknown = await rest(h, "GET", "/nope", { token: h.users.admin.token });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND" } } });
    const wrong = await rest(h, "PUT", "/plans", { token: h.users.admin.token, body: {} });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, POST");
  });
});

describe("REST users and API tokens", () => {
  it("lets a super_admin manage users over REST, with the reset-password sub-resource", async () => {
    const token = h.users.super_admin.token;
    const created = await rest(h, "POST", "/users", {
      token,
      body: { email: "ops@example.com", name: "Ops", role: "admin", password: "ops-password-1" },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await rest(h, "PATCH", `/users/${id}`, { token, body: { role: "member" } })).body.role).toBe(
      "member",
    );
    expect(
      (await rest(h, "POST", `/users/${id}/password`, { token, body: { password: "another-password" } }))
        .status,
    ).toBe(200);
    expect((await rest(h, "GET", "/users", { token })).body.map((u: { email: string }) => u.email)).toContain(
      "ops@example.com",
    );
    expect((await rest(h, "DELETE", `/users/${id}`, { token })).status).toBe(200);
    expect((await rest(h, "DELETE", `/users/${h.users.super_admin.id}`, { token })).status).toBe(400);
  });

  it("lists only the caller's own tokens, without secrets, and records their last use", async () => {
    const before = await rest(h, "GET", "/api-tokens", { token: h.users.admin.token });
    expect(before.status).toBe(200);
    expect(before.body).toHaveLength(1);
    expect(before.body[0]).toEqual({
      id: expect.any(String),
      name: "test",
      prefix: h.users.admin.token.slice(0, 11),
      createdAt: expect.any(String),
      lastUsedAt: expect.any(String),
      revokedAt: null,
    });
    expect(JSON.stringify(before.body)).not.toContain(h.users.admin.token);
  });
});

describe("openapi.json", () => {
  it("lists every REST path and method, generated from the procedures' schemas, without authentication", async () => {
    const res = await rest(h, "GET", "/openapi.json");
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe("3.1.0");
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        "GET /api/v1/bytecode",
        "POST /api/v1/bytecode",
        "GET /api/v1/bytecode/choose",
        "PATCH /api/v1/bytecode/{id}",
        "DELETE /api/v1/bytecode/{id}",
        "GET /api/v1/capture-rules",
        "POST /api/v1/capture-rules",
        "PATCH /api/v1/capture-rules/{id}",
        "DELETE /api/v1/capture-rules/{id}",
        "POST /api/v1/capture-rules/preview",
        "GET /api/v1/me",
        "GET /api/v1/users",
        "POST /api/v1/users",
        "PATCH /api/v1/users/{id}",
        "DELETE /api/v1/users/{id}",
        "POST /api/v1/users/{id}/password",
        "GET /api/v1/api-tokens",
        "POST /api/v1/api-tokens",
        "DELETE /api/v1/api-tokens/{id}",
        "GET /api/v1/plans",
        "POST /api/v1/plans",
        "GET /api/v1/plans/{id}",
        "PATCH /api/v1/plans/{id}",
        "DELETE /api/v1/plans/{id}",
        "GET /api/v1/audit",
        "GET /api/v1/enrollment-tokens",
        "POST /api/v1/enrollment-tokens",
        "DELETE /api/v1/enrollment-tokens/{id}",
        "GET /api/v1/devices",
        "GET /api/v1/devices/{id}",
        "PATCH /api/v1/devices/{id}",
        "DELETE /api/v1/devices/{id}",
        "POST /api/v1/devices/{id}/move",
        "POST /api/v1/flows/query",
        "GET /api/v1/flows/dimensions",
        "GET /api/v1/export-targets",
        "POST /api/v1/export-targets",
        "GET /api/v1/export-targets/{id}",
        "PATCH /api/v1/export-targets/{id}",
        "DELETE /api/v1/export-targets/{id}",
        "POST /api/v1/export-targets/{id}/test",
      ].sort(),
    );
    const create = doc.paths["/api/v1/plans"].post;
    expect(create.operationId).toBe("plans.create");
    const body = create.requestBody.content["application/json"].schema;
    expect(body.required).toEqual(["name", "maxDevices", "maxFlowsPerSecond", "retentionDays"]);
    expect(body.properties.retentionDays).toMatchObject({ type: "integer", minimum: 1, maximum: 3650 });
    expect(create.responses["201"].content["application/json"].schema.properties.createdAt).toEqual({
      type: "string",
      format: "date-time",
    });
    const patch = doc.paths["/api/v1/plans/{id}"].patch;
    expect(patch.parameters).toEqual([
      { name: "id", in: "path", required: true, schema: expect.objectContaining({ format: "uuid" }) },
    ]);
    expect(patch.requestBody.content["application/json"].schema.properties).not.toHaveProperty("id");
    const audit = doc.paths["/api/v1/audit"].get;
    expect(audit.parameters.map((p: { name: string }) => p.name)).toEqual([
      "limit",
      "cursor",
      "action",
      "targetType",
      "targetId",
    ]);
    expect(doc.components.securitySchemes.bearerToken).toMatchObject({ type: "http", scheme: "bearer" });
  });
});
