import { existsSync } from "node:fs";
import { join } from "node:path";

export class ConsoleNotBuiltError extends Error {
  override readonly name = "ConsoleNotBuiltError";
}

// `next({ dev: false })` on a missing build fails deep inside Next with a message about a missing
// manifest; checking the build id first lets the launcher say what to do instead.
export function assertConsoleBuilt(webDir: string): void {
  if (!existsSync(join(webDir, ".next", "BUILD_ID"))) {
    throw new ConsoleNotBuiltError(
      `the console is not built (no ${join(webDir, ".next", "BUILD_ID")}): run npm run build first ` +
        "(or npm run build -w @kernflow/web)",
    );
  }
}
