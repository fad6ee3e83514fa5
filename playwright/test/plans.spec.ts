import { expect, signIn, test, uniqueName } from "./fixtures";

async function createPlan(page: import("@playwright/test").Page, name: string, maxDevices = "25") {
  await page.getByRole("button", { name: "New plan" }).click();
  const form = page.getByRole("form", { name: "New plan" });
  await form.getByLabel("Plan name").fill(name);
  await form.getByLabel("Description").fill("created by the browser tests");
  await form.getByLabel("Max devices").fill(maxDevices);
  await form.getByLabel("Max flows per second").fill("5000");
  await form.getByLabel("Retention (days)").fill("14");
  await form.getByRole("button", { name: "Create plan" }).click();
  return form;
}

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await page.goto("/plans");
  await expect(page.getByRole("heading", { name: "Plans" })).toBeVisible();
});

test("creates a plan and lists it with its limits", async ({ page }) => {
  const name = uniqueName("plan");
  const form = await createPlan(page, name);
  await expect(form).toBeHidden();
  const row = page.getByRole("row", { name: new RegExp(name) });
  await expect(row).toContainText("0 / 25");
  await expect(row).toContainText("5,000");
  await expect(row).toContainText("14 d");

  // Listed from the database, not just from the page's memory.
  await page.reload();
  await expect(page.getByRole("row", { name: new RegExp(name) })).toContainText("0 / 25");
});

test("edits a plan's name and limits", async ({ page }) => {
  const name = uniqueName("plan");
  await createPlan(page, name);
  await page.getByRole("button", { name: `Edit plan ${name}` }).click();
  const form = page.getByRole("form", { name: `Edit plan ${name}` });
  const renamed = `${name}-renamed`;
  await form.getByLabel("Plan name").fill(renamed);
  await form.getByLabel("Max devices").fill("40");
  await form.getByRole("button", { name: "Save changes" }).click();
  await expect(form).toBeHidden();

  await page.reload();
  await expect(page.getByRole("row", { name: new RegExp(renamed) })).toContainText("0 / 40");
  await expect(page.getByRole("rowheader", { name, exact: true })).toHaveCount(0);
});

test("shows the conflict inline when a plan name is already taken", async ({ page }) => {
  const name = uniqueName("plan");
  await createPlan(page, name);
  await expect(page.getByRole("row", { name: new RegExp(name) })).toBeVisible();

  const form = await createPlan(page, name);
  await expect(form.getByRole("alert")).toContainText(/already/i);
  await expect(form).toBeVisible();
  await expect(page.getByRole("rowheader", { name, exact: true })).toHaveCount(1);
});

test("shows the server's validation error inline for a limit out of range", async ({ page }) => {
  const name = uniqueName("plan");
  const form = await createPlan(page, name, "25");
  await expect(form).toBeHidden();
  await page.getByRole("button", { name: `Edit plan ${name}` }).click();
  const edit = page.getByRole("form", { name: `Edit plan ${name}` });
  await edit.getByLabel("Retention (days)").fill("5000");
  await edit.getByRole("button", { name: "Save changes" }).click();
  await expect(edit.getByRole("alert")).toContainText("retentionDays");
});

test("deletes a plan after confirmation", async ({ page }) => {
  const name = uniqueName("plan");
  await createPlan(page, name);
  await page.getByRole("button", { name: `Delete plan ${name}` }).click();
  await page.getByRole("button", { name: `Confirm deleting plan ${name}` }).click();
  await expect(page.getByRole("rowheader", { name, exact: true })).toHaveCount(0);
  await page.reload();
  await expect(page.getByRole("heading", { name: "Plans" })).toBeVisible();
  await expect(page.getByRole("rowheader", { name, exact: true })).toHaveCount(0);
});
