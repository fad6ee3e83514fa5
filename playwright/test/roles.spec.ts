import { expect, signIn, test, uniqueName } from "./fixtures";

test("a member reads plans but is offered no changes, and is told which pages need a higher role", async ({
  page,
  browser,
  baseURL,
}) => {
  await signIn(page);
  const planName = uniqueName("visible-plan");
  await page.goto("/plans");
  await page.getByRole("button", { name: "New plan" }).click();
  const planForm = page.getByRole("form", { name: "New plan" });
  await planForm.getByLabel("Plan name").fill(planName);
  await planForm.getByRole("button", { name: "Create plan" }).click();
  await expect(planForm).toBeHidden();

  const email = `${uniqueName("member")}@kernflow.test`;
  await page.goto("/users");
  await page.getByRole("button", { name: "New user" }).click();
  const userForm = page.getByRole("form", { name: "New user" });
  await userForm.getByLabel("Email").fill(email);
  await userForm.getByLabel("Name").fill("Read Only");
  await userForm.getByLabel("Initial password").fill("member-password-789");
  await userForm.getByRole("button", { name: "Create user" }).click();
  await expect(page.getByLabel(`Role of ${email}`)).toHaveValue("member");

  const context = await browser.newContext({ baseURL });
  const member = await context.newPage();
  await signIn(member, email, "member-password-789");
  await member.goto("/plans");
  await expect(member.getByRole("rowheader", { name: planName, exact: true })).toBeVisible();
  await expect(member.getByRole("button", { name: "New plan" })).toHaveCount(0);
  await expect(member.getByRole("button", { name: `Edit plan ${planName}` })).toHaveCount(0);

  await member.goto("/users");
  await expect(member.getByRole("status")).toHaveText(/needs the super admin role/);
  await member.goto("/audit");
  await expect(member.getByRole("status")).toHaveText(/needs the admin role/);
  await context.close();
});

test("the audit log pages through older entries and back", async ({ page, request }) => {
  await signIn(page);
  await page.goto("/api-tokens");
  const tokenName = uniqueName("pager");
  await page.getByLabel("Token name").fill(tokenName);
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = await page.getByLabel("API token secret").inputValue();

  // More than one page (50 entries) of fresh changes, made through REST so the test stays quick.
  const prefix = uniqueName("paged");
  for (let i = 0; i < 55; i++) {
    const response = await request.post("/api/v1/plans", {
      headers: { Authorization: `Bearer ${secret}` },
      data: { name: `${prefix}-${i}`, maxDevices: 1, maxFlowsPerSecond: 100, retentionDays: 1 },
    });
    expect(response.status()).toBe(201);
  }

  await page.goto("/audit");
  const table = page.getByRole("table", { name: "Audit log" });
  const rows = table.locator("tbody tr");
  await expect(rows).toHaveCount(50);
  await expect(rows.first()).toContainText(`${prefix}-54`);
  await expect(page.getByRole("button", { name: "Newer" })).toBeDisabled();

  await page.getByRole("button", { name: "Older" }).click();
  await expect(page.getByText("Page 2")).toBeVisible();
  await expect(rows.first()).toContainText(`${prefix}-4"`);
  await expect(table).not.toContainText(`${prefix}-54`);

  await page.getByRole("button", { name: "Newer" }).click();
  await expect(page.getByText("Page 1")).toBeVisible();
  await expect(rows.first()).toContainText(`${prefix}-54`);

  await page.goto("/api-tokens");
  await page.getByRole("button", { name: `Revoke token ${tokenName}` }).click();
  await expect(page.getByRole("row", { name: new RegExp(tokenName) })).toContainText("revoked");
});
