import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The repository root holds prisma/ (schema and migrations) and the default KERNFLOW_HOME. It is found by
// walking up from this module and, when a bundler has moved the module (Next.js), from the working folder.
export function findRepoRoot(): string {
  const starts = [path.dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (const start of starts) {
    let dir = start;
    for (;;) {
      if (existsSync(path.join(dir, "prisma", "schema.prisma"))) return dir;
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(
    `cannot find the kernflow repository root (a folder with prisma/schema.prisma) above ${starts.join(" or ")}`,
  );
}

export function defaultMigrationsDir(): string {
  return path.join(findRepoRoot(), "prisma", "migrations");
}
