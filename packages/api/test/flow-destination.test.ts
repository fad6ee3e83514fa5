import { describe, expect, it } from "vitest";
import { waitingCheckIns } from "../src/agent/config-waiters";
import { checkIn, http, planAndToken, untilWaiting, useFleetServer } from "./agent-protocol.helpers";

const fleet = useFleetServer();

const patch = (id: string, body: Record<string, unknown>) =>
  http(fleet.server, "PATCH", `/api/v1/plans/${id}`, { bearer: fleet.h.users.admin.token, body });

const enrolled = () => fleet.enrolled();

describe("a plan's flow destination", () => {
  it("is null (the console) by default and is stored, shown and audited when set over REST", async () => {
    const { plan } = await planAndToken(fleet.h, fleet.server);
    expect(plan.flowDestination).toBeNull();
    const set = await patch(plan.id, { flowDestination: " nats://nats.kernflow:4222/kernflow.flows " });
    expect(set.status).toBe(200);
    expect(set.body.flowDestination).toBe("nats://nats.kernflow:4222/kernflow.flows");
    const got = await http(fleet.server, "GET", `/api/v1/plans/${plan.id}`, {
      bearer: fleet.h.users.admin.token,
    });
    expect(got.body.flowDestination).toBe("nats://nats.kernflow:4222/kernflow.flows");

    const cleared = await patch(plan.id, { flowDestination: "" });
    expect(cleared.body.flowDestination).toBeNull();
    const audits = await fleet.h.db.auditEntry.findMany({
      where: { targetType: "plan", targetId: plan.id, action: "plans.update" },
      orderBy: { id: "asc" },
    });
    expect(audits.map((a) => a.details)).toEqual([
      { flowDestination: { from: null, to: "nats://nats.kernflow:4222/kernflow.flows" } },
      { flowDestination: { from: "nats://nats.kernflow:4222/kernflow.flows", to: null } },
    ]);
  });

  it.each(["ftp://files:21", "nats://nats:4222/flows.*", "not a url", "kernflow-aggregator:4000"])(
    "rejects %s with 400 naming the field and the expected forms",
    async (bad) => {
      const { plan } = await planAndToken(fleet.h, fleet.server);
      const res = await patch(plan.id, { flowDestination: bad });
      expect(res.status).toBe(400);
      const text = JSON.stringify(res.body);
      expect(text).toContain("flowDestination");
      expect(text).toContain("http(s)://HOST:PORT");
      expect(text).toContain("nats://HOST:PORT/SUBJECT");
      const stored = await fleet.h.db.plan.findUniqueOrThrow({ where: { id: plan.id } });
      expect(stored.flowDestination).toBeNull();
    },
  );

  it("accepts an aggregator URL when the plan is created", async () => {
    const res = await http(fleet.server, "POST", "/api/v1/plans", {
      bearer: fleet.h.users.admin.token,
      body: {
        name: `agg-${Date.now()}`,
        maxDevices: 5,
        maxFlowsPerSecond: 1000,
        retentionDays: 7,
        flowDestination: "http://kernflow-aggregator:4000",
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.flowDestination).toBe("http://kernflow-aggregator:4000");
  });

  it("is pushed to the plan's waiting agents at once: the desired config maps it and its hash changes", async () => {
    const { plan, credential, host } = await enrolled();
    const first = await checkIn(fleet.server, credential, host);
    expect(first.body.config.flow_destination).toEqual({ kind: "console" });

    const before = waitingCheckIns();
    const pending = checkIn(fleet.server, credential, host, {
      applied: first.body.config_hash,
      waitMs: 25_000,
    });
    await untilWaiting(before + 1);
    const changedAt = performance.now();
    expect((await patch(plan.id, { flowDestination: "nats://127.0.0.1:4222/kernflow.flows" })).status).toBe(
      200,
    );
    const res = await pending;
    expect(performance.now() - changedAt).toBeLessThan(2000);
    expect(res.body.changed).toBe(true);
    expect(res.body.config.flow_destination).toEqual({
      kind: "nats",
      url: "nats://127.0.0.1:4222/kernflow.flows",
    });
    expect(res.body.config_hash).not.toBe(first.body.config_hash);

    const pending2 = checkIn(fleet.server, credential, host, {
      applied: res.body.config_hash,
      waitMs: 25_000,
    });
    await untilWaiting(before + 1);
    expect((await patch(plan.id, { flowDestination: "https://agg.example:8443" })).status).toBe(200);
    const res2 = await pending2;
    expect(res2.body.config.flow_destination).toEqual({
      kind: "aggregator",
      url: "https://agg.example:8443",
    });

    const pending3 = checkIn(fleet.server, credential, host, {
      applied: res2.body.config_hash,
      waitMs: 25_000,
    });
    await untilWaiting(before + 1);
    expect((await patch(plan.id, { flowDestination: null })).status).toBe(200);
    const res3 = await pending3;
    expect(res3.body.config.flow_destination).toEqual({ kind: "console" });
    expect(res3.body.config_hash).toBe(first.body.config_hash);
  });
});
