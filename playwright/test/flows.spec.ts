import { expect, SEED_DEVICE, seedTotals, test } from "../flows-seed";
import { signIn } from "./fixtures";

const count = (value: number) => value.toLocaleString("en-US");
// Other tests (the real agent's) share this console; totals are checked on the seeded device alone.
const onlySeed = `filter=device:eq:${SEED_DEVICE}`;

async function expectTotals(page: import("@playwright/test").Page, totals: ReturnType<typeof seedTotals>) {
  await expect(page.getByTestId("total-bytes")).toHaveText(count(totals.bytes));
  await expect(page.getByTestId("total-packets")).toHaveText(count(totals.packets));
  await expect(page.getByTestId("total-records")).toHaveText(count(totals.records));
}

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test("shows totals equal to the seeded records, each conversation counted once", async ({ page }) => {
  await page.goto(`/flows?metric=bits_per_s&group=src_process_name,dst_process_name&last=3600&${onlySeed}`);
  const table = page.getByRole("table", { name: "Flow groups" });
  await expect(table.getByRole("button", { name: "Filter on curl · nginx" })).toBeVisible();
  // Both ends recorded every conversation; the default vantage keeps the source end's records only.
  await expectTotals(page, seedTotals());
  await expect(page.getByText(/vantage src/)).toBeVisible();
  for (const name of ["curl · nginx", "psql · postgres", "dig · unbound"]) {
    await expect(table.getByRole("button", { name: `Filter on ${name}` })).toBeVisible();
  }
  // One line per group on the chart.
  await expect(page.getByRole("figure", { name: "Flow chart" }).locator(".recharts-line")).toHaveCount(3);

  // Both vantages: every record, so twice the counts.
  await page.goto(`/flows?metric=bits_per_s&group=src_process_name&last=3600&vantage=all&${onlySeed}`);
  const all = seedTotals();
  await expectTotals(page, { bytes: all.bytes * 2, packets: all.packets * 2, records: all.records * 2 });
});

test("clicking a row adds the filters it implies and narrows the totals to it", async ({ page }) => {
  await page.goto("/flows?metric=bits_per_s&group=src_process_name,dst_port&last=3600");
  await page.getByRole("button", { name: "Filter on psql · 5432" }).click();
  await expect(page).toHaveURL(/filter=src_process_name%3Aeq%3Apsql/);
  await expect(page).toHaveURL(/filter=dst_port%3Aeq%3A5432/);
  await expect(page.getByRole("list", { name: "Active filters" })).toContainText(
    "Source Process Name equals psql",
  );
  await expectTotals(
    page,
    seedTotals((c) => c.client === "psql"),
  );
  await expect(page.getByRole("table", { name: "Flow groups" }).locator("tbody tr")).toHaveCount(1);
});

test("the URL holds the whole query: a copied link reproduces the view", async ({ page, context }) => {
  await page.goto("/flows");
  await page.getByLabel("Metric", { exact: true }).selectOption({ label: "Packets/s" });
  await page.getByLabel("Add a group-by dimension").selectOption({ label: "Destination Port" });
  await page.getByLabel("Filter dimension").selectOption({ label: "Device" });
  await page.getByLabel("Filter value").fill(SEED_DEVICE);
  await page.getByRole("button", { name: "Add filter" }).click();
  await page.getByLabel("Time range").selectOption({ label: "Last 6 hours" });
  await page.getByLabel("Top N").fill("2");
  await expect(page).toHaveURL(/top=2/);
  await expect(page).toHaveURL(/metric=packets_per_s/);
  await expect(page).toHaveURL(/filter=device%3Aeq%3Apw-edge-1/);
  // Top 2 of three groups: the third is folded into "Other", and the totals still cover everything.
  await expect(page.getByRole("rowheader", { name: "Other" })).toBeVisible();
  await expectTotals(page, seedTotals());

  const link = page.url();
  const other = await context.newPage();
  await other.goto(link);
  await expect(other.getByLabel("Metric", { exact: true })).toHaveValue("packets_per_s");
  await expect(other.getByLabel("Time range")).toHaveValue(String(6 * 3600));
  await expect(other.getByLabel("Top N")).toHaveValue("2");
  await expect(other.getByRole("list", { name: "Group-by dimensions" })).toContainText("Destination Port");
  await expect(other.getByRole("list", { name: "Active filters" })).toContainText(
    `Device equals ${SEED_DEVICE}`,
  );
  await expect(other.getByRole("rowheader", { name: "Other" })).toBeVisible();
  await expectTotals(other, seedTotals());
});

test("a bad link says what was wrong and falls back to defaults for those parts", async ({ page }) => {
  await page.goto(
    `/flows?metric=bananas&top=0&filter=dst_port:cidr:10.0.0.0/8&last=3600&group=src_process_name&${onlySeed}`,
  );
  const alert = page.getByRole("alert").filter({ hasText: "could not be used" });
  await expect(alert).toContainText('metric "bananas"');
  await expect(alert).toContainText('top "0"');
  await expect(alert).toContainText("cidr filter applies only to src_addr or dst_addr");
  await expect(page.getByLabel("Metric", { exact: true })).toHaveValue("bits_per_s");
  await expectTotals(page, seedTotals());
});

test("an empty range says how to get flows", async ({ page }) => {
  await page.goto(
    "/flows?metric=bits_per_s&group=src_process_name&last=3600&filter=device:eq:no-such-device",
  );
  await expect(page.getByRole("status").filter({ hasText: "No flows in this range" })).toContainText(
    "enroll an agent",
  );
  await expect(page.getByRole("link", { name: "Enrollment tokens" }).last()).toBeVisible();
});

test("live mode re-queries a sliding window without blanking the table", async ({ page }) => {
  await page.goto(`/flows?metric=bits_per_s&group=src_process_name&last=3600&${onlySeed}`);
  await expectTotals(page, seedTotals());
  const answers: number[] = [];
  page.on("response", (response) => {
    if (response.url().includes("flows.query")) answers.push(Date.now());
  });
  // The box reflects the URL, so it shows checked once the URL says live.
  await page.getByLabel("Live").click();
  await expect(page).toHaveURL(/live=1/);
  await expect(page.getByLabel("Live")).toBeChecked();
  await expect.poll(() => answers.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
  // Never replaced by a loading state between refreshes.
  await expect(page.getByText("Loading flows…")).toHaveCount(0);
  await expectTotals(page, seedTotals());
});

test("a custom range is held in the URL as from/to and answers over exactly that window", async ({
  page,
}) => {
  await page.goto(`/flows?metric=bits_per_s&group=src_process_name&last=3600&${onlySeed}`);
  await page.getByLabel("Time range").selectOption({ label: "Custom…" });
  await expect(page).toHaveURL(/from=.*&to=/);
  await expect(page.getByLabel("From (UTC)")).toBeVisible();
  // The custom window starts as the hour the preset showed: every seeded record is still in it.
  await expectTotals(page, seedTotals());

  // Moved to a window that ended two hours ago: nothing was seeded there.
  // The start first: each end is checked against the other's current value.
  const start = new Date(Date.now() - 3 * 3600_000).toISOString().slice(0, 16);
  await page.getByLabel("From (UTC)").fill(start);
  await page.getByLabel("From (UTC)").blur();
  await expect(page).toHaveURL(new RegExp(`from=${encodeURIComponent(`${start}:00.000Z`)}`));
  const end = new Date(Date.now() - 2 * 3600_000).toISOString().slice(0, 16);
  await page.getByLabel("To (UTC)").fill(end);
  await page.getByLabel("To (UTC)").blur();
  await expect(page).toHaveURL(new RegExp(`to=${encodeURIComponent(`${end}:00.000Z`)}`));
  await expect(page.getByRole("status").filter({ hasText: "No flows in this range" })).toBeVisible();
});
