import { ADMIN_EMAIL, ADMIN_PASSWORD } from "./constants";
import { expect, signIn, test } from "./fixtures";

test("sends a signed-out visitor to the login page", async ({ page }) => {
  await page.goto("/plans");
  await expect(page).toHaveURL(/\/login\?next=%2Fplans$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});

test("signs the administrator in and shows the console navigation", async ({ page }) => {
  await signIn(page);
  const nav = page.getByRole("navigation", { name: "Console sections" });
  for (const section of ["Overview", "Devices", "Plans", "Users", "API tokens", "Audit log"]) {
    await expect(nav.getByRole("link", { name: section })).toBeVisible();
  }
  await expect(page.getByText(ADMIN_EMAIL)).toBeVisible();
});

test("shows an error for a wrong password and stays signed out", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill(ADMIN_EMAIL);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("form", { name: "Sign in" }).getByRole("alert")).toHaveText(
    "Invalid email or password",
  );
  await expect(page).toHaveURL(/\/login/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
});

test("returns to the page asked for after signing in, and signs out", async ({ page }) => {
  await page.goto("/audit");
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel("Email").fill(ADMIN_EMAIL);
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByRole("table", { name: "Audit log" })).toContainText("auth.login");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto("/plans");
  await expect(page).toHaveURL(/\/login/);
});

test("sends the user to the login page when the session ends while the console is open", async ({ page }) => {
  await signIn(page);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await page.context().clearCookies();
  // Client-side navigation: no page load, only the next API call finds the session gone.
  await page
    .getByRole("navigation", { name: "Console sections" })
    .getByRole("link", { name: "Audit log" })
    .click();
  await expect(page).toHaveURL(/\/login\?next=%2Faudit$/);
});
