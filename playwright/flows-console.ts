import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFlowStore, type FlowStore, startEmbeddedPostgres } from "@kernflow/db";
import pg from "pg";
import { type RunningConsole, startConsole } from "./console-server";
import { ADMIN_EMAIL, ADMIN_PASSWORD } from "./test/constants";

/**
 * A console of its own for the flow pages' browser tests, on a PostgreSQL whose URL the test knows, so
 * records can be written into the real flow store (the same FlowStore the ingest route uses) and the pages
 * checked against exactly what was written. The shared console of the global setup keeps its database
 * to itself (embedded, URL unknown to the workers).
 */
export interface FlowsConsole {
  url: string;
  databaseUrl: string;
  flowStore: FlowStore;
  /** What the console printed, for a failing test's report. */
  output(): string;
  stop(): Promise<void>;
}

export async function startFlowsConsole(): Promise<FlowsConsole> {
  const dir = mkdtempSync(join(tmpdir(), "kernflow-flows-pw-"));
  // The embedded PostgreSQL runs as the `postgres` user, which must be able to enter this folder.
  chmodSync(dir, 0o711);
  const server = await startEmbeddedPostgres({ dataDir: join(dir, "postgres"), ephemeral: true });
  let running: RunningConsole | undefined;
  let flowStore: FlowStore | undefined;
  try {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query("CREATE DATABASE kernflow_flows");
    await admin.end();
    const databaseUrl = server.urlFor("kernflow_flows");
    running = await startConsole({
      DATABASE_URL: databaseUrl,
      KERNFLOW_ADMIN_EMAIL: ADMIN_EMAIL,
      KERNFLOW_ADMIN_PASSWORD: ADMIN_PASSWORD,
    });
    flowStore = createFlowStore(databaseUrl);
    const store = flowStore;
    const consoleProcess = running;
    return {
      url: running.url,
      databaseUrl,
      flowStore: store,
      output: () => consoleProcess.output(),
      stop: async () => {
        await store.close();
        const code = await consoleProcess.stop();
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
        if (code !== 0) throw new Error(`the flows console did not stop cleanly (exit code ${code})`);
      },
    };
  } catch (error) {
    await flowStore?.close();
    await running?.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
