import { defineConfig, devices } from "@playwright/test";

// Debian's Chromium: `npx playwright install` would download browsers from outside, which is not allowed.
const CHROMIUM = process.env.KERNFLOW_CHROMIUM ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "./test",
  globalSetup: "./global-setup.ts",
  // The tests share one console and its database; one worker keeps a 2-core machine responsive.
  workers: 1,
  fullyParallel: false,
  forbidOnly: process.env.CI === "true",
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"], ["json", { outputFile: "test-results/results.json" }]],
  outputDir: "test-results/artifacts",
  use: {
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: CHROMIUM,
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
        },
      },
    },
  ],
});
