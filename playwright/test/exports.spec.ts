import { createSocket } from "node:dgram";
import { expect, signIn, test, uniqueName } from "./fixtures";

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await page.goto("/exports");
  await expect(page.getByRole("heading", { name: "Exports" })).toBeVisible();
});

async function createTarget(page: import("@playwright/test").Page, name: string, url: string) {
  await page.getByRole("button", { name: "New export target" }).click();
  const form = page.getByRole("form", { name: "New export target" });
  await form.getByLabel("Target name").fill(name);
  await form.getByLabel("Kind").selectOption("ipfix_udp");
  await form.getByLabel("URL").fill(url);
  await form.getByRole("button", { name: "Create target" }).click();
  return form;
}

test("creates an IPFIX target, sends a real test record to a collector and shows it counted", async ({
  page,
}) => {
  // The console runs on this host: a UDP socket here is a collector it can reach.
  const collector = createSocket("udp4");
  const received: Buffer[] = [];
  collector.on("message", (m) => received.push(m));
  await new Promise<void>((resolve) => collector.bind(0, "127.0.0.1", resolve));
  try {
    const name = uniqueName("collector");
    const form = await createTarget(page, name, `ipfix://127.0.0.1:${collector.address().port}`);
    await expect(form).toBeHidden();
    const row = page.getByRole("row", { name: new RegExp(name) });
    await expect(row).toContainText("Enabled");
    await expect(row).toContainText("never");

    await page.getByRole("button", { name: `Send a test record to ${name}` }).click();
    await expect(page.getByRole("status")).toContainText("Test record sent");
    await expect(row.getByRole("cell").nth(4)).toHaveText("1");
    expect(received.length).toBeGreaterThan(0);
    expect(received[0]?.readUInt16BE(0)).toBe(10);

    await page.getByRole("button", { name: `Pause export target ${name}` }).click();
    await page.reload();
    await expect(page.getByRole("row", { name: new RegExp(name) })).toContainText("Paused");
  } finally {
    collector.close();
  }
});

test("shows the API's reason inline for a port out of range, naming the url field", async ({ page }) => {
  const form = await createTarget(page, uniqueName("bad-port"), "ipfix://collector.example:70000");
  await expect(form.getByRole("alert")).toContainText('url: port "70000" is out of range');
  await expect(form).toBeVisible();
});

test("records a refusing collector's error on the target", async ({ page }) => {
  const probe = createSocket("udp4");
  await new Promise<void>((resolve) => probe.bind(0, "127.0.0.1", resolve));
  const port = probe.address().port;
  probe.close();
  const name = uniqueName("refusing");
  await createTarget(page, name, `ipfix://127.0.0.1:${port}`);
  await page.getByRole("button", { name: `Send a test record to ${name}` }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Test record failed" })).toContainText(
    "ECONNREFUSED",
  );
  await expect(page.getByRole("row", { name: new RegExp(name) })).toContainText("ECONNREFUSED");
});
