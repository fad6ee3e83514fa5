import { randomUUID } from "node:crypto";
import type { APIRequestContext, Page } from "@playwright/test";
import { expect, signIn, test, uniqueName } from "./fixtures";

// biome-ignore lint/suspicious/noExplicitAny: tRPC results are checked by the assertions that use them
type Json = any;

/** A tRPC mutation over HTTP with the page's session cookie and CSRF token, as the console makes them. */
async function mutate(request: APIRequestContext, path: string, input: unknown): Promise<Json> {
  const session = await request.get("/api/trpc/auth.session");
  const csrf = ((await session.json()) as Json).result.data.json.csrfToken as string;
  const res = await request.post(`/api/trpc/${path}`, {
    headers: { "content-type": "application/json", "x-kernflow-csrf": csrf },
    data: { json: input },
  });
  const body = (await res.json()) as Json;
  if (!res.ok()) throw new Error(`${path} failed: ${res.status()} ${JSON.stringify(body)}`);
  return body.result.data.json;
}

/**
 * A device that reports interfaces, made the way a real agent makes one: an enrollment token from the
 * API, then the agent protocol's enroll and a check-in carrying the status report.
 */
async function enrolledDevice(page: Page, interfaces: string[]) {
  const request = page.request;
  const plan = await mutate(request, "plans.create", {
    name: uniqueName("rules-plan"),
    description: "",
    maxDevices: 5,
    maxFlowsPerSecond: 1000,
    retentionDays: 1,
  });
  const deviceName = uniqueName("node-a");
  const token = await mutate(request, "enrollmentTokens.create", {
    name: deviceName,
    planId: plan.id,
    deviceName,
    expiresInHours: 1,
    maxUses: 1,
  });
  const host = {
    hostname: deviceName,
    machine_id: randomUUID().replaceAll("-", ""),
    kernel_release: "6.8.0-45-generic",
    os: "Debian GNU/Linux 12",
    agent_version: "0.1.0",
    interfaces,
  };
  const enrolled = await request.post("/api/agent/v1/enroll", { data: { token: token.secret, host } });
  expect(enrolled.ok(), await enrolled.text()).toBe(true);
  const { credential } = (await enrolled.json()) as Json;
  const checkIn = await request.post("/api/agent/v1/check-in", {
    headers: { authorization: `Bearer ${credential}` },
    data: {
      host,
      wait_ms: 0,
      status: {
        health: "ok",
        config_hash_applied: null,
        bytecode_sha256: null,
        interfaces_seen: interfaces,
        interfaces_attached: [],
        map_overflow: 0,
        flows_per_second: 0,
        records_spooled: 0,
        errors: [],
      },
    },
  });
  expect(checkIn.ok(), await checkIn.text()).toBe(true);
  return { planName: plan.name as string, deviceName };
}

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test("previews matches live while typing, then saves the rule and lists it under its plan", async ({
  page,
}) => {
  const { planName, deviceName } = await enrolledDevice(page, ["lo", "eth0", "cali12ab", "cali0", "docker0"]);
  await page.goto("/capture-rules");
  await page.getByRole("button", { name: "New rule" }).click();
  const form = page.getByRole("form", { name: "New capture rule" });
  await form.getByRole("combobox", { name: "Plan", exact: true }).selectOption({ label: planName });
  const ruleName = uniqueName("pods");
  await form.getByLabel("Rule name").fill(ruleName);
  const preview = form.getByRole("region", { name: "Preview" });
  // The default draft (everything but lo) already previews against the device's report.
  await expect(preview).toContainText(`matches eth0, cali12ab, cali0, docker0 on ${deviceName}`);

  await form.getByLabel("Include interfaces").fill("eth*, cali*");
  await form.getByLabel("Exclude interfaces").fill("cali0");
  await expect(preview).toContainText(`matches eth0, cali12ab on ${deviceName}`);
  await form.getByLabel("Include interfaces").fill("tun*");
  await expect(preview).toContainText(`matches no interface on ${deviceName}`);
  await form.getByLabel("Include interfaces").fill("eth(0|1)");
  await expect(preview.getByRole("alert")).toContainText("no regular expressions");

  await form.getByLabel("Include interfaces").fill("eth*, cali*");
  await form.getByRole("button", { name: "Create rule" }).click();
  await expect(form).toBeHidden();
  const row = page
    .getByRole("table", { name: "Plan rules" })
    .getByRole("row", { name: new RegExp(ruleName) });
  await expect(row).toContainText(planName);
  await expect(row).toContainText("eth*, cali*");
  await expect(row).toContainText("cali0");

  await page.reload();
  await row.getByRole("button", { name: `Edit rule ${ruleName}` }).click();
  const edit = page.getByRole("form", { name: `Edit rule ${ruleName}` });
  await edit.getByLabel("Include interfaces").fill("docker*");
  await expect(edit.getByRole("region", { name: "Preview" })).toContainText(
    `matches docker0 on ${deviceName}`,
  );
  await edit.getByRole("button", { name: "Save changes" }).click();
  await expect(row).toContainText("docker*");

  await row.getByRole("button", { name: `Delete rule ${ruleName}` }).click();
  await row.getByRole("button", { name: `Confirm deleting rule ${ruleName}` }).click();
  await expect(page.getByRole("row", { name: new RegExp(ruleName) })).toHaveCount(0);
});

test("a device rule is listed apart and its preview covers only that device", async ({ page }) => {
  const { planName, deviceName } = await enrolledDevice(page, ["lo", "ens3", "tun0"]);
  await page.goto("/capture-rules");
  await page.getByRole("button", { name: "New rule" }).click();
  const form = page.getByRole("form", { name: "New capture rule" });
  await form.getByRole("combobox", { name: "Applies to" }).selectOption("device");
  await form
    .getByRole("combobox", { name: "Device", exact: true })
    .selectOption({ label: `${deviceName} (${planName})` });
  const ruleName = uniqueName("tunnels");
  await form.getByLabel("Rule name").fill(ruleName);
  await form.getByLabel("Include interfaces").fill("tun?");
  await form.getByLabel("Exclude interfaces").fill("");
  await expect(form.getByRole("region", { name: "Preview" }).getByRole("listitem")).toHaveText([
    `matches tun0 on ${deviceName}`,
  ]);
  await form.getByRole("button", { name: "Create rule" }).click();
  await expect(
    page.getByRole("table", { name: "Device rules" }).getByRole("row", { name: new RegExp(ruleName) }),
  ).toContainText(deviceName);
});
