import { startConsole } from "./console-server";
import { ADMIN_EMAIL, ADMIN_PASSWORD, BASE_URL_ENV } from "./test/constants";

// One console for the whole run. Workers inherit process.env, which is how they learn its URL.
export default async function globalSetup(): Promise<() => Promise<void>> {
  const server = await startConsole({
    KERNFLOW_ADMIN_EMAIL: ADMIN_EMAIL,
    KERNFLOW_ADMIN_PASSWORD: ADMIN_PASSWORD,
  });
  process.env[BASE_URL_ENV] = server.url;
  return async () => {
    const code = await server.stop();
    if (code !== 0) {
      throw new Error(
        `the console did not stop cleanly (exit code ${code}):\n${server.output().slice(-4000)}`,
      );
    }
  };
}
