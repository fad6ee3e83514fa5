import { expect, seedConversations, test } from "../flows-seed";
import { signIn } from "./fixtures";

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test("lists application latency percentiles and RTT per serving process", async ({ page }) => {
  await page.goto("/latency");
  const table = page.getByRole("table", { name: "Latency by group" });
  // Every record of a conversation has the same latency, so each percentile equals it exactly.
  for (const conversation of seedConversations.filter((c) => c.appLatencyMs !== null)) {
    const row = table.getByRole("row", { name: new RegExp(`^Filter on ${conversation.server} `) });
    const latency = `${(conversation.appLatencyMs ?? 0).toFixed(1)} ms`;
    const cells = row.getByRole("cell");
    await expect(cells.nth(0)).toHaveText(latency);
    await expect(cells.nth(1)).toHaveText(latency);
    await expect(cells.nth(2)).toHaveText(latency);
  }
  await expect(page.getByRole("figure", { name: "Latency chart" })).toBeVisible();
  // No latency was measured for DNS: it has no row in a latency ranking.
  await expect(table.getByRole("row", { name: /unbound/ })).toHaveCount(0);
});

test("groups by client process from the URL and filters on a clicked row", async ({ page }) => {
  await page.goto("/latency?metric=rtt_ms&aggregate=p50&group=src_process_name&last=3600");
  await expect(page.getByLabel("Metric", { exact: true })).toHaveValue("rtt_ms");
  await page.getByRole("button", { name: "Filter on psql" }).click();
  await expect(page).toHaveURL(/filter=src_process_name%3Aeq%3Apsql/);
  const table = page.getByRole("table", { name: "Latency by group" });
  await expect(table.locator("tbody tr")).toHaveCount(1);
  await expect(
    table
      .getByRole("row", { name: /^Filter on psql / })
      .getByRole("cell")
      .nth(3),
  ).toHaveText("1.50 ms");
});
