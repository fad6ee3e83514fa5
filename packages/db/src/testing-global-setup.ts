// vitest globalSetup (root vitest.config.ts): one PostgreSQL server for the whole test run, shared by all
// workers through provide/inject and an environment variable; createTestDatabase() makes databases on it.
import type { TestProject } from "vitest/node";
import {
  EXTERNAL_TEST_SERVER_ENV,
  PROVIDED_TEST_SERVER_URL,
  startTestServer,
  TEST_SERVER_URL_ENV,
} from "./testing";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env[EXTERNAL_TEST_SERVER_ENV];
  if (external) {
    project.provide(PROVIDED_TEST_SERVER_URL, external);
    process.env[TEST_SERVER_URL_ENV] = external;
    return async () => {};
  }
  const server = await startTestServer();
  project.provide(PROVIDED_TEST_SERVER_URL, server.url);
  process.env[TEST_SERVER_URL_ENV] = server.url;
  return async () => {
    await server.stop();
  };
}
