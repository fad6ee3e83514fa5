import { expect, signIn, test, uniqueName } from "./fixtures";

test("a super admin creates a user, changes their role, resets their password and deletes them", async ({
  page,
  browser,
  baseURL,
}) => {
  await signIn(page);
  await page.goto("/users");
  const email = `${uniqueName("user")}@kernflow.test`;
  await page.getByRole("button", { name: "New user" }).click();
  const form = page.getByRole("form", { name: "New user" });
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Name").fill("Test Member");
  await form.getByLabel("Initial password").fill("first-password-123");
  await form.getByRole("button", { name: "Create user" }).click();
  await expect(form).toBeHidden();
  const role = page.getByLabel(`Role of ${email}`);
  await expect(role).toHaveValue("member");

  await role.selectOption("admin");
  await page.reload();
  await expect(page.getByLabel(`Role of ${email}`)).toHaveValue("admin");

  await page.getByRole("button", { name: `Reset password of ${email}` }).click();
  await page.getByLabel("New password", { exact: true }).fill("second-password-456");
  await page.getByRole("button", { name: "Set password", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: `Password changed for ${email}` })).toBeVisible();

  // The new password works for the user, in a separate browser context.
  const other = await browser.newContext({ baseURL });
  const otherPage = await other.newPage();
  await signIn(otherPage, email, "second-password-456");
  await expect(otherPage.getByText(email)).toBeVisible();
  await other.close();

  await page.getByRole("button", { name: `Delete user ${email}` }).click();
  await page.getByRole("button", { name: `Confirm deleting user ${email}` }).click();
  await expect(page.getByLabel(`Role of ${email}`)).toHaveCount(0);
});

test("shows the audit log of changes, newest first", async ({ page }) => {
  await signIn(page);
  await page.goto("/audit");
  const table = page.getByRole("table", { name: "Audit log" });
  await expect(table).toBeVisible();
  await expect(table.getByRole("row").nth(1)).toContainText("auth.login");
});
