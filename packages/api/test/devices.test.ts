import { agentPaths } from "@kernflow/protocol";
import { describe, expect, it } from "vitest";
import { waitingCheckIns } from "../src/agent/config-waiters";
import { deviceStatus, ONLINE_WINDOW_MS } from "../src/services/devices";
import { checkIn, http, planAndToken, untilWaiting, useFleetServer } from "./agent-protocol.helpers";

const fleet = useFleetServer();

const enrolledDevice = (options?: { maxDevices?: number }) => fleet.enrolled(options);
const asAdmin = (method: string, path: string, body?: unknown) => fleet.asAdmin(method, path, body);

describe("device status", () => {
  it("is pending before the first check-in, online after, degraded with errors, offline after missed check-ins", async () => {
    const { credential, host, id } = await enrolledDevice();
    expect((await asAdmin("GET", `/devices/${id}`)).body.status).toBe("pending");

    await checkIn(fleet.server, credential, host);
    expect((await asAdmin("GET", `/devices/${id}`)).body.status).toBe("online");

    await checkIn(fleet.server, credential, host, {
      status: {
        health: "degraded",
        errors: [
          { at: new Date().toISOString(), kind: "bytecode_load", message: "verifier rejected program" },
        ],
      },
    });
    const degraded = (await asAdmin("GET", `/devices/${id}`)).body;
    expect(degraded.status).toBe("degraded");
    expect(degraded.errors).toEqual([expect.objectContaining({ kind: "bytecode_load" })]);

    // Two missed check-ins (plus slack) ago.
    await fleet.h.db.device.update({
      where: { id },
      data: { lastSeenAt: new Date(Date.now() - ONLINE_WINDOW_MS - 1000) },
    });
    expect((await asAdmin("GET", `/devices/${id}`)).body.status).toBe("offline");
  });

  it("computes status at the window's edges", () => {
    const now = new Date("2026-01-01T00:01:15.000Z");
    const ok = { health: "ok", errors: [] };
    expect(deviceStatus(null, null, now)).toBe("pending");
    expect(deviceStatus(new Date(now.getTime() - ONLINE_WINDOW_MS), ok, now)).toBe("online");
    expect(deviceStatus(new Date(now.getTime() - ONLINE_WINDOW_MS - 1), ok, now)).toBe("offline");
    expect(deviceStatus(now, { health: "ok", errors: [{}] }, now)).toBe("degraded");
    expect(deviceStatus(new Date(0), { health: "degraded", errors: [] }, now)).toBe("offline");
  });
});

describe("devices over REST", () => {
  it("shows the agent's report: kernel, version, interfaces attached vs matched by the effective rule, flows/s", async () => {
    const { credential, host, id, plan } = await enrolledDevice();
    await fleet.h.db.captureRule.create({
      data: { name: "pods", scope: "plan", planId: plan.id, include: ["eth*", "cali*"], exclude: [] },
    });
    await checkIn(fleet.server, credential, host, {
      status: {
        interfaces_seen: ["lo", "eth0", "cali12ab", "tun0"],
        interfaces_attached: ["eth0"],
        map_overflow: 3,
      },
    });
    const res = await asAdmin("GET", `/devices/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: host.hostname,
      planId: plan.id,
      planName: plan.name,
      kernelRelease: "6.18.0-test",
      agentVersion: "0.1.0",
      captureRule: { include: ["eth*", "cali*"], exclude: [], source: "plan" },
      interfacesAttached: ["eth0"],
      interfacesMatched: ["eth0", "cali12ab"],
      flowsPerSecond: 12.5,
      mapOverflow: 3,
    });
    const list = await asAdmin("GET", `/devices?planId=${plan.id}`);
    expect(list.body.map((d: { id: string }) => d.id)).toEqual([id]);
  });

  it("renames a device, refusing a name already taken (409) and auditing the change", async () => {
    const a = await enrolledDevice();
    const b = await enrolledDevice();
    const renamed = await asAdmin("PATCH", `/devices/${a.id}`, { name: "web-1" });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe("web-1");
    const taken = await asAdmin("PATCH", `/devices/${b.id}`, { name: "web-1" });
    expect(taken.status).toBe(409);
    expect(taken.body.error.message).toMatch(/"web-1" already exists/);
    const bad = await asAdmin("PATCH", `/devices/${b.id}`, { name: "has spaces" });
    expect(bad.status).toBe(400);
    const audit = await fleet.h.db.auditEntry.findFirst({
      where: { action: "devices.rename", targetId: a.id },
    });
    expect(audit?.details).toEqual({ name: { from: a.host.hostname, to: "web-1" } });
  });

  it("moves a device to a plan with room, refuses a full plan (409), and releases its waiting check-in", async () => {
    const device = await enrolledDevice();
    const full = await enrolledDevice({ maxDevices: 1 });
    const refused = await asAdmin("POST", `/devices/${device.id}/move`, { planId: full.plan.id });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toBe(`plan ${full.plan.name} is full (1 of 1 devices)`);

    const roomy = await planAndToken(fleet.h, fleet.server);
    await fleet.h.db.captureRule.create({
      data: { name: "tun", scope: "plan", planId: roomy.plan.id, include: ["tun*"] },
    });
    const first = await checkIn(fleet.server, device.credential, device.host);
    const before = waitingCheckIns();
    const pending = checkIn(fleet.server, device.credential, device.host, {
      applied: first.body.config_hash,
      waitMs: 25_000,
    });
    await untilWaiting(before + 1);
    const moved = await asAdmin("POST", `/devices/${device.id}/move`, { planId: roomy.plan.id });
    expect(moved.status).toBe(200);
    expect(moved.body.planId).toBe(roomy.plan.id);
    const res = await pending;
    expect(res.ms).toBeLessThan(5000);
    expect(res.body.config.capture.include).toEqual(["tun*"]);
  });

  it("lets a member read devices but not change them (403)", async () => {
    const { id } = await enrolledDevice();
    const asMember = (method: string, path: string, body?: unknown) =>
      http(fleet.server, method, `/api/v1${path}`, { bearer: fleet.h.users.member.token, body });
    expect((await asMember("GET", "/devices")).status).toBe(200);
    expect((await asMember("PATCH", `/devices/${id}`, { name: "nope" })).status).toBe(403);
    expect((await asMember("DELETE", `/devices/${id}`)).status).toBe(403);
  });

  it("delete unenrolls: the device is gone (404 after), the agent's credential is refused (401), audited", async () => {
    const { credential, host, id } = await enrolledDevice();
    const deleted = await asAdmin("DELETE", `/devices/${id}`);
    expect(deleted.status).toBe(200);
    expect((await asAdmin("GET", `/devices/${id}`)).status).toBe(404);
    expect((await checkIn(fleet.server, credential, host)).status).toBe(401);
    expect(
      (await http(fleet.server, "POST", agentPaths.rotateCredential, { bearer: credential })).status,
    ).toBe(401);
    expect(await fleet.h.db.auditEntry.count({ where: { action: "devices.delete", targetId: id } })).toBe(1);
  });
});
