import { createHash, randomBytes, randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { createFlowStore } from "@kernflow/db";
import { agentPaths, packFlowBatch } from "@kernflow/protocol";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { announceConfigChange, startConfigChangeRelay, stopConfigChangeRelay } from "../src/agent/config-bus";
import { waitingCheckIns } from "../src/agent/config-waiters";
import {
  agentStatus,
  checkIn,
  enroll,
  hostFacts,
  http,
  planAndToken,
  untilWaiting,
  useFleetServer,
} from "./agent-protocol.helpers";
import { generateDay } from "./flows-reference";

const fleet = useFleetServer({ flowStore: (url) => createFlowStore(url) });

const sha256 = (value: string | Buffer) => createHash("sha256").update(value).digest("hex");

describe("enroll", () => {
  it("exchanges a token for a credential, creating the device in the token's plan with the credential stored hashed", async () => {
    const { plan, token, secret } = await planAndToken(fleet.h, fleet.server, { namePrefix: "edge-" });
    const res = await enroll(fleet.server, secret);
    expect(res.status).toBe(201);
    expect(res.body.device).toMatchObject({
      name: `edge-${res.host.hostname}`,
      plan_id: plan.id,
      plan_name: plan.name,
    });
    expect(res.body.credential).toMatch(/^kfa_/);

    const device = await fleet.h.db.device.findUniqueOrThrow({ where: { id: res.body.device.id } });
    expect(device.credentialHash).toBe(sha256(res.body.credential));
    expect(device).toMatchObject({
      machineId: res.host.machine_id,
      hostname: res.host.hostname,
      kernelRelease: "6.18.0-test",
      enrollmentTokenId: token.id,
      status: "pending",
    });
    const used = await fleet.h.db.enrollmentToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(used.uses).toBe(1);
    expect(used.lastUsedAt).not.toBeNull();
    const audit = await fleet.h.db.auditEntry.findFirst({
      where: { targetType: "device", targetId: device.id },
    });
    expect(audit).toMatchObject({
      action: "devices.enroll",
      actorId: null,
      actorLabel: `agent ${res.host.hostname}`,
    });
  });

  it("names the device after the token's device name, else the hostname", async () => {
    const named = await planAndToken(fleet.h, fleet.server, { deviceName: "db-primary", maxUses: 1 });
    expect((await enroll(fleet.server, named.secret)).body.device.name).toBe("db-primary");
    const plain = await planAndToken(fleet.h, fleet.server);
    const res = await enroll(fleet.server, plain.secret);
    expect(res.body.device.name).toBe(res.host.hostname);
  });

  it("refuses a token used up to its maximum uses (403, saying so)", async () => {
    const { secret } = await planAndToken(fleet.h, fleet.server, { maxUses: 1 });
    expect((await enroll(fleet.server, secret)).status).toBe(201);
    const second = await enroll(fleet.server, secret);
    expect(second.status).toBe(403);
    expect(second.body.error.message).toMatch(/has been used 1 of 1 times/);
  });

  it("refuses an expired token (403, saying so)", async () => {
    const { token, secret } = await planAndToken(fleet.h, fleet.server);
    await fleet.h.db.enrollmentToken.update({
      where: { id: token.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const res = await enroll(fleet.server, secret);
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/expired at/);
  });

  it("refuses a revoked token at once (403, saying so)", async () => {
    const { token, secret } = await planAndToken(fleet.h, fleet.server);
    const revoked = await http(fleet.server, "DELETE", `/api/v1/enrollment-tokens/${token.id}`, {
      bearer: fleet.h.users.admin.token,
    });
    expect(revoked.status).toBe(200);
    const res = await enroll(fleet.server, secret);
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/was revoked/);
  });

  it("refuses an unknown token (403) and an invalid body (400 naming the field)", async () => {
    const unknown = await enroll(fleet.server, "kfe_not-a-real-token");
    expect(unknown.status).toBe(403);
    expect(unknown.body.error).toEqual({ code: "FORBIDDEN", message: "Enrollment token is unknown" });
    const bad = await http(fleet.server, "POST", agentPaths.enroll, {
      body: { token: "x", host: { ...hostFacts(), kernel_release: "" } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/host\.kernel_release/);
  });

  it("enforces the plan's device limit with 409 naming the plan", async () => {
    const { plan, secret } = await planAndToken(fleet.h, fleet.server, { maxDevices: 1 });
    expect((await enroll(fleet.server, secret)).status).toBe(201);
    const full = await enroll(fleet.server, secret);
    expect(full.status).toBe(409);
    expect(full.body.error.message).toBe(`plan ${plan.name} is full (1 of 1 devices)`);
    expect(await fleet.h.db.device.count({ where: { planId: plan.id } })).toBe(1);
  });

  it("holds the plan limit when many hosts enroll at the same moment", async () => {
    const { plan, secret } = await planAndToken(fleet.h, fleet.server, { maxDevices: 3, maxUses: 20 });
    const results = await Promise.all(Array.from({ length: 8 }, () => enroll(fleet.server, secret)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    expect(results.filter((r) => r.status !== 201).every((r) => r.status === 409)).toBe(true);
    expect(await fleet.h.db.device.count({ where: { planId: plan.id } })).toBe(3);
  });

  it("re-enrolling the same machine reuses its device with a new credential; the old one stops working", async () => {
    const { plan, secret } = await planAndToken(fleet.h, fleet.server, { maxDevices: 1 });
    const first = await enroll(fleet.server, secret);
    const again = await enroll(fleet.server, secret, { ...first.host, hostname: "renamed-host" });
    expect(again.status).toBe(201);
    expect(again.body.device.id).toBe(first.body.device.id);
    expect(await fleet.h.db.device.count({ where: { planId: plan.id } })).toBe(1);
    expect((await checkIn(fleet.server, first.body.credential, first.host)).status).toBe(401);
    expect((await checkIn(fleet.server, again.body.credential, first.host)).status).toBe(200);
  });
});

describe("credentials", () => {
  it("refuses a check-in without a credential or with an unknown one (401)", async () => {
    const none = await http(fleet.server, "POST", agentPaths.checkIn, { body: {} });
    expect(none.status).toBe(401);
    const unknown = await checkIn(fleet.server, "kfa_unknown-credential-unknown-credential", hostFacts());
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe("UNAUTHORIZED");
  });

  it("rotation returns a new credential and the old one stops at once", async () => {
    const { secret } = await planAndToken(fleet.h, fleet.server);
    const { body, host } = await enroll(fleet.server, secret);
    const rotated = await http(fleet.server, "POST", agentPaths.rotateCredential, {
      bearer: body.credential,
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.credential).not.toBe(body.credential);
    expect((await checkIn(fleet.server, body.credential, host)).status).toBe(401);
    expect((await checkIn(fleet.server, rotated.body.credential, host)).status).toBe(200);
  });

  it("a deleted device's credential is refused (401)", async () => {
    const { secret } = await planAndToken(fleet.h, fleet.server);
    const { body, host } = await enroll(fleet.server, secret);
    const deleted = await http(fleet.server, "DELETE", `/api/v1/devices/${body.device.id}`, {
      bearer: fleet.h.users.admin.token,
    });
    expect(deleted.status).toBe(200);
    const res = await checkIn(fleet.server, body.credential, host);
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/device was deleted/);
  });
});

describe("check-in", () => {
  async function enrolled(options: { maxDevices?: number } = {}) {
    const device = await fleet.enrolled(options);
    return { ...device, deviceId: device.id };
  }

  it("stores the agent's report and answers at once with the desired config when its hash differs", async () => {
    const { credential, host, deviceId } = await enrolled();
    const res = await checkIn(fleet.server, credential, host, { applied: "old-hash", waitMs: 20_000 });
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(2000);
    expect(res.body.changed).toBe(true);
    expect(res.body.device.id).toBe(deviceId);
    expect(res.body.config).toMatchObject({
      capture: { include: ["*"], exclude: ["lo"], sample_rate: 1, interval_ms: 2_000 },
      sinks: [],
      flow_destination: { kind: "console" },
    });
    expect(res.body.config_hash).toMatch(/^[0-9a-f]{64}$/);
    const device = await fleet.h.db.device.findUniqueOrThrow({ where: { id: deviceId } });
    expect(device.lastSeenAt).not.toBeNull();
    expect(device.configHashApplied).toBe("old-hash");
    expect(device.status).toBe("online");
    expect(device.statusReport).toMatchObject({
      flows_per_second: 12.5,
      interfaces_attached: ["eth0", "cali12ab", "tun0"],
    });
  });

  it("holds the check-in while the applied config is current, and answers unchanged at the end of the wait", async () => {
    const { credential, host } = await enrolled();
    const first = await checkIn(fleet.server, credential, host);
    const held = await checkIn(fleet.server, credential, host, {
      applied: first.body.config_hash,
      waitMs: 1200,
    });
    expect(held.status).toBe(200);
    expect(held.body.changed).toBe(false);
    expect(held.body.config_hash).toBe(first.body.config_hash);
    expect(held.ms).toBeGreaterThanOrEqual(1100);
    expect(held.ms).toBeLessThan(5000);
  });

  it("a change announced for the device's plan releases a waiting check-in with the new config", async () => {
    const { credential, host, plan } = await enrolled();
    const first = await checkIn(fleet.server, credential, host);
    const before = waitingCheckIns();
    const pending = checkIn(fleet.server, credential, host, {
      applied: first.body.config_hash,
      waitMs: 25_000,
    });
    await untilWaiting(before + 1);
    const announcedAt = performance.now();
    await fleet.h.db.captureRule.create({
      data: { name: "eth only", scope: "plan", planId: plan.id, include: ["eth*"] },
    });
    announceConfigChange({ planIds: [plan.id] });
    const res = await pending;
    expect(performance.now() - announcedAt).toBeLessThan(2000);
    expect(res.body.changed).toBe(true);
    expect(res.body.config.capture.include).toEqual(["eth*"]);
    expect(res.body.config_hash).not.toBe(first.body.config_hash);
  });

  it("a change to another plan, or one that leaves the hash as it was, does not release the waiter", async () => {
    const { credential, host, deviceId } = await enrolled();
    const other = await enrolled();
    const first = await checkIn(fleet.server, credential, host);
    const pending = checkIn(fleet.server, credential, host, {
      applied: first.body.config_hash,
      waitMs: 1500,
    });
    await new Promise((r) => setTimeout(r, 200));
    announceConfigChange({ planIds: [other.plan.id] });
    announceConfigChange({ deviceIds: [deviceId] });
    const res = await pending;
    expect(res.body.changed).toBe(false);
    expect(res.ms).toBeGreaterThanOrEqual(1400);
  });

  it("deleting the device while its check-in waits answers 401 at once", async () => {
    const { credential, host, deviceId } = await enrolled();
    const first = await checkIn(fleet.server, credential, host);
    const before = waitingCheckIns();
    const pending = checkIn(fleet.server, credential, host, {
      applied: first.body.config_hash,
      waitMs: 25_000,
    });
    await untilWaiting(before + 1);
    await http(fleet.server, "DELETE", `/api/v1/devices/${deviceId}`, { bearer: fleet.h.users.admin.token });
    const res = await pending;
    expect(res.status).toBe(401);
    expect(res.ms).toBeLessThan(5000);
  });

  it("a client that hangs up stops waiting on the server", async () => {
    const { credential, host } = await enrolled();
    const first = await checkIn(fleet.server, credential, host);
    const before = waitingCheckIns();
    const aborter = new AbortController();
    const pending = fetch(`${fleet.server.url}${agentPaths.checkIn}`, {
      method: "POST",
      signal: aborter.signal,
      headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" },
      body: JSON.stringify({
        host,
        status: agentStatus({ config_hash_applied: first.body.config_hash }),
        wait_ms: 25_000,
      }),
    }).catch(() => "aborted");
    await untilWaiting(before + 1);
    aborter.abort();
    expect(await pending).toBe("aborted");
    const deadline = Date.now() + 3000;
    while (waitingCheckIns() > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(waitingCheckIns()).toBe(before);
  });

  it("relays changes between console processes through PostgreSQL LISTEN/NOTIFY", async () => {
    await startConfigChangeRelay(fleet.h.database.url);
    const { credential, host, deviceId, plan } = await enrolled();
    const first = await checkIn(fleet.server, credential, host);
    // Another console process: its own connection, publishing on the channel with its own origin.
    const other = new pg.Client({ connectionString: fleet.h.database.url });
    await other.connect();
    try {
      await other.query("LISTEN kernflow_config_change");
      const heard = new Promise<string>((resolve) =>
        other.once("notification", (m) => resolve(m.payload ?? "")),
      );
      announceConfigChange({ deviceIds: [deviceId] });
      expect(JSON.parse(await heard).change).toEqual({ deviceIds: [deviceId] });

      const before = waitingCheckIns();
      const pending = checkIn(fleet.server, credential, host, {
        applied: first.body.config_hash,
        waitMs: 25_000,
      });
      await untilWaiting(before + 1);
      await fleet.h.db.captureRule.create({
        data: { name: "tun", scope: "plan", planId: plan.id, include: ["tun*"] },
      });
      await other.query("SELECT pg_notify('kernflow_config_change', $1)", [
        JSON.stringify({ origin: "another-process", change: { planIds: [plan.id] } }),
      ]);
      const res = await pending;
      expect(res.ms).toBeLessThan(5000);
      expect(res.body.config.capture.include).toEqual(["tun*"]);
    } finally {
      await other.end();
      await stopConfigChangeRelay();
    }
  });
});

describe("bytecode download", () => {
  it("serves a registered object by sha256 as octet-stream, 404 for an unknown one, 400 for a malformed one", async () => {
    const { secret } = await planAndToken(fleet.h, fleet.server);
    const { body, host } = await enroll(fleet.server, secret);
    const content = randomBytes(4096);
    const sha = sha256(content);
    await fleet.h.db.bytecode.create({
      data: { sha256: sha, name: "test.bpf.o", size: content.length, kernelMatch: "6.18.0-test", content },
    });
    // As the bytecode service does after an upload: desired configs computed before it are stale.
    announceConfigChange({ all: true });
    const res = await fetch(`${fleet.server.url}${agentPaths.bytecode}/${sha}`, {
      headers: { authorization: `Bearer ${body.credential}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true);

    // The desired config names it for this kernel, and the check-in records it as in use.
    const check = await checkIn(fleet.server, body.credential, host, { status: { bytecode_sha256: sha } });
    expect(check.body.config.bytecode).toEqual({
      sha256: sha,
      name: "test.bpf.o",
      size: 4096,
      kernel_match: "6.18.0-test",
    });
    const device = await fleet.h.db.device.findUniqueOrThrow({
      where: { id: body.device.id },
      include: { bytecode: true },
    });
    expect(device.bytecode?.sha256).toBe(sha);

    expect(
      (
        await http(fleet.server, "GET", `${agentPaths.bytecode}/${"0".repeat(64)}`, {
          bearer: body.credential,
        })
      ).status,
    ).toBe(404);
    expect(
      (await http(fleet.server, "GET", `${agentPaths.bytecode}/nothex`, { bearer: body.credential })).status,
    ).toBe(400);
    expect((await http(fleet.server, "GET", `${agentPaths.bytecode}/${sha}`)).status).toBe(401);
    await fleet.h.db.bytecode.delete({ where: { sha256: sha } });
  });
});

describe("flow batches", () => {
  it("are stored for the device the credential belongs to, and refused without a credential (401)", async () => {
    const { secret } = await planAndToken(fleet.h, fleet.server);
    const { body } = await enroll(fleet.server, secret);
    const records = generateDay([body.device.name], Date.now() - 86_400_000, 5, 7);
    const batch = gzipSync(JSON.stringify({ batch_id: randomUUID(), records }));
    const post = (bearer?: string) =>
      fetch(`${fleet.server.url}${agentPaths.flows}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-encoding": "gzip",
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
        body: batch,
      });
    const stored = await post(body.credential);
    expect(stored.status).toBe(200);
    expect(await stored.json()).toEqual({ accepted: 5, duplicate: false });
    expect((await post()).status).toBe(401);
  });

  it("are taken packed (what agents send) into the same rows as whole records, once per batch id", async () => {
    const { secret } = await planAndToken(fleet.h, fleet.server);
    const { body } = await enroll(fleet.server, secret);
    const day = generateDay([body.device.name], Date.now() - 86_400_000, 10, 11);
    const post = (batch: unknown) =>
      fetch(`${fleet.server.url}${agentPaths.flows}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-encoding": "gzip",
          authorization: `Bearer ${body.credential}`,
        },
        body: gzipSync(JSON.stringify(batch)),
      });
    const packed = packFlowBatch(randomUUID(), day.slice(0, 5));
    expect(await (await post(packed)).json()).toEqual({ accepted: 5, duplicate: false });
    expect(await (await post(packed)).json()).toEqual({ accepted: 5, duplicate: true });
    expect((await post({ batch_id: randomUUID(), records: day.slice(5) })).status).toBe(200);

    const bad = packFlowBatch(randomUUID(), day.slice(0, 3));
    bad.columns.packets[2] = -1;
    const refused = await post(bad);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(await refused.json())).toContain("record 2: packets");

    const db = new pg.Client({ connectionString: fleet.h.database.url });
    await db.connect();
    try {
      const { rows } = await db.query(
        `SELECT ts_start, host(src_addr) AS src_addr, src_port, bytes, src_pid, src_process_name,
                dst_object_labels
           FROM flows.records_wide WHERE device = $1 ORDER BY ts_start, src_port, bytes`,
        [body.device.name],
      );
      const expected = [...day]
        .sort((a, b) => a.ts_start.localeCompare(b.ts_start) || a.src_port - b.src_port || a.bytes - b.bytes)
        .map((r) => ({
          ts_start: new Date(r.ts_start),
          src_addr: r.src_addr,
          src_port: r.src_port,
          bytes: String(r.bytes),
          src_pid: r.src.pid,
          src_process_name: r.src.process_name,
          dst_object_labels: r.dst.object_labels,
        }));
      expect(rows).toEqual(expected);
    } finally {
      await db.end();
    }
  });
});
