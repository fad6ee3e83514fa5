import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AgentClient } from "./client";
import { writeFileAtomic } from "./state";

/** Bytecode objects downloaded from the console, kept as `bytecode/<sha256>.o` under the state
 * directory so a restart while the console is away can load the last pushed one again. A cached file
 * whose bytes no longer match its name (disk damage, a hand edit) is downloaded again. */
export class BytecodeCache {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, "bytecode");
  }

  path(sha256: string): string {
    return join(this.dir, `${sha256}.o`);
  }

  /** The cached bytes when present and intact. */
  cached(sha256: string): Buffer | undefined {
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.path(sha256));
    } catch {
      return undefined;
    }
    return createHash("sha256").update(bytes).digest("hex") === sha256 ? bytes : undefined;
  }

  async get(sha256: string, client: AgentClient, signal?: AbortSignal): Promise<Buffer> {
    const hit = this.cached(sha256);
    if (hit) return hit;
    // downloadBytecode verifies the hash before anything is written.
    const bytes = await client.downloadBytecode(sha256, signal);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(this.path(sha256), bytes, 0o600);
    return bytes;
  }
}
