import { defineConfig } from "vitest/config";

// One runner for every package: unit tests next to the code, integration tests in each package's test/.
export default defineConfig({
  test: {
    include: [
      "packages/*/src/**/*.test.ts",
      "packages/*/test/**/*.test.ts",
      "apps/*/src/**/*.test.ts",
      "apps/*/test/**/*.test.ts",
    ],
    exclude: ["**/node_modules/**", "**/.next/**"],
    // One PostgreSQL server for the whole run; tests get databases on it from @kernflow/db/testing.
    globalSetup: ["packages/db/src/testing-global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
