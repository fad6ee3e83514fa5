// Generates the Prisma client from prisma/schema.prisma without network access.
// `prisma generate` never runs the schema engine, but the CLI insists that one exists before it starts;
// PRISMA_SCHEMA_ENGINE_BINARY (the documented override) pointed at an existing file satisfies it.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
};
const r = spawnSync("npx", ["prisma", "generate"], { cwd: root, env, stdio: "inherit" });
process.exit(r.status ?? 1);
