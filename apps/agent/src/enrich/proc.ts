import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** What /proc says about a process; nulls when the process is gone or unreadable. */
export interface ProcessInfo {
  process_name: string | null;
  process_cmdline: string | null;
  /** Raw `/proc/<pid>/cgroup` content, kept so container attribution needs no second read. */
  cgroup: string | null;
}

export const unknownProcess: ProcessInfo = Object.freeze({
  process_name: null,
  process_cmdline: null,
  cgroup: null,
});

export interface ProcessResolverOptions {
  procRoot?: string;
  /** Short on purpose: pids are reused, and a stale name is worse than a second read of /proc. */
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/** Errors meaning "this pid no longer exists (or never did)", which is routine for short-lived processes. */
const vanishedCodes = new Set(["ENOENT", "ESRCH"]);

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (vanishedCodes.has((error as NodeJS.ErrnoException).code ?? "")) return null;
    throw error;
  }
}

/** `/proc/<pid>/cmdline` is NUL-separated with a trailing NUL; kernel threads have an empty one. */
export function cmdlineFromProc(raw: string): string | null {
  const args = raw.split("\0");
  if (args.at(-1) === "") args.pop();
  const joined = args.join(" ").trim();
  return joined.length === 0 ? null : joined;
}

export class ProcessResolver {
  private readonly procRoot: string;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly cache = new Map<number, { info: ProcessInfo; expires: number }>();

  constructor(options: ProcessResolverOptions = {}) {
    this.procRoot = options.procRoot ?? "/proc";
    this.ttlMs = options.ttlMs ?? 5_000;
    this.maxEntries = options.maxEntries ?? 65_536;
    this.now = options.now ?? Date.now;
  }

  async lookup(pid: number): Promise<ProcessInfo> {
    if (!Number.isInteger(pid) || pid <= 0) return unknownProcess;
    const now = this.now();
    const cached = this.cache.get(pid);
    if (cached !== undefined && cached.expires > now) return cached.info;
    const info = await this.read(pid);
    if (this.cache.size >= this.maxEntries) this.evictExpired(now);
    // Still full of live entries: drop the oldest insertion rather than grow without bound.
    if (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.delete(pid);
    this.cache.set(pid, { info, expires: now + this.ttlMs });
    return info;
  }

  private async read(pid: number): Promise<ProcessInfo> {
    const dir = join(this.procRoot, String(pid));
    const [comm, cmdline, cgroup] = await Promise.all([
      readOptional(join(dir, "comm")),
      readOptional(join(dir, "cmdline")),
      readOptional(join(dir, "cgroup")),
    ]);
    if (comm === null) return unknownProcess;
    return {
      process_name: comm.replace(/\n$/, ""),
      process_cmdline: cmdline === null ? null : cmdlineFromProc(cmdline),
      cgroup,
    };
  }

  private evictExpired(now: number): void {
    for (const [pid, entry] of this.cache) if (entry.expires <= now) this.cache.delete(pid);
  }
}
