import { ADMIN_EMAIL } from "./constants";
import { expect, signIn, test, uniqueName } from "./fixtures";

function planNames(body: unknown): string[] {
  expect(Array.isArray(body)).toBe(true);
  return (body as Array<{ name: string }>).map((plan) => plan.name);
}

test("an API token is shown once, works with both header styles, and stops working when revoked", async ({
  page,
  request,
}) => {
  await signIn(page);

  const planName = uniqueName("rest-plan");
  await page.goto("/plans");
  await page.getByRole("button", { name: "New plan" }).click();
  const planForm = page.getByRole("form", { name: "New plan" });
  await planForm.getByLabel("Plan name").fill(planName);
  await planForm.getByRole("button", { name: "Create plan" }).click();
  await expect(page.getByRole("rowheader", { name: planName, exact: true })).toBeVisible();

  const tokenName = uniqueName("token");
  await page.goto("/api-tokens");
  await page.getByLabel("Token name").fill(tokenName);
  await page.getByRole("button", { name: "Create token" }).click();
  const secretField = page.getByLabel("API token secret");
  await expect(secretField).toBeVisible();
  const secret = await secretField.inputValue();
  expect(secret.length).toBeGreaterThanOrEqual(20);
  await expect(page.getByLabel("curl example with X-CH-Auth headers", { exact: true })).toHaveValue(
    new RegExp(`X-CH-Auth-Email: ${ADMIN_EMAIL}'.*X-CH-Auth-API-Token: ${secret}'.*/api/v1/plans`),
  );
  await expect(page.getByRole("row", { name: new RegExp(tokenName) })).toContainText("active");

  // Both header styles of CONTRACTS.md §3, without the browser's session cookie.
  const bearer = await request.get("/api/v1/plans", { headers: { Authorization: `Bearer ${secret}` } });
  expect(bearer.status()).toBe(200);
  expect(planNames(await bearer.json())).toContain(planName);
  const kentik = await request.get("/api/v1/plans", {
    headers: { "X-CH-Auth-Email": ADMIN_EMAIL, "X-CH-Auth-API-Token": secret },
  });
  expect(kentik.status()).toBe(200);
  expect(planNames(await kentik.json())).toContain(planName);

  // The secret is not retrievable after leaving the page.
  await page.reload();
  await expect(page.getByRole("row", { name: new RegExp(tokenName) })).toBeVisible();
  await expect(page.getByLabel("API token secret")).toHaveCount(0);
  await expect(page.getByText(secret)).toHaveCount(0);

  await page.getByRole("button", { name: `Revoke token ${tokenName}` }).click();
  await expect(page.getByRole("row", { name: new RegExp(tokenName) })).toContainText("revoked");
  const revoked = await request.get("/api/v1/plans", { headers: { Authorization: `Bearer ${secret}` } });
  expect(revoked.status()).toBe(401);
  expect((await revoked.json()).error.code).toBeTruthy();
  const revokedKentik = await request.get("/api/v1/plans", {
    headers: { "X-CH-Auth-Email": ADMIN_EMAIL, "X-CH-Auth-API-Token": secret },
  });
  expect(revokedKentik.status()).toBe(401);
});

test("REST answers 401 with a JSON error for a wrong token", async ({ request }) => {
  const response = await request.get("/api/v1/plans", {
    headers: { Authorization: "Bearer kf_not-a-real-token" },
  });
  expect(response.status()).toBe(401);
  expect(response.headers()["content-type"]).toContain("application/json");
  const body = await response.json();
  expect(body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });

  const wrongEmail = await request.get("/api/v1/plans", {
    headers: { "X-CH-Auth-Email": "nobody@kernflow.test", "X-CH-Auth-API-Token": "kf_not-a-real-token" },
  });
  expect(wrongEmail.status()).toBe(401);
  expect((await wrongEmail.json()).error.message).toEqual(expect.any(String));
});

test("REST refuses a token sent with another user's email", async ({ page, request }) => {
  await signIn(page);
  await page.goto("/api-tokens");
  const tokenName = uniqueName("token");
  await page.getByLabel("Token name").fill(tokenName);
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = await page.getByLabel("API token secret").inputValue();
  const response = await request.get("/api/v1/plans", {
    headers: { "X-CH-Auth-Email": "someone-else@kernflow.test", "X-CH-Auth-API-Token": secret },
  });
  expect(response.status()).toBe(401);
  await page.getByRole("button", { name: `Revoke token ${tokenName}` }).click();
  await expect(page.getByRole("row", { name: new RegExp(tokenName) })).toContainText("revoked");
});
