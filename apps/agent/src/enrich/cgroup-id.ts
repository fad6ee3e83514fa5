import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { type ContainerRef, containerFromCgroupPath } from "./cgroup";

/**
 * Maps kernel cgroup ids (what `bpf_get_current_cgroup_id()` returns: the inode number of the cgroup v2
 * directory) back to cgroup paths and so to containers. The tree is walked once and re-walked only on a
 * miss, at most every `minRescanMs`, because new containers appear but walking on every record would not
 * keep up with a busy host.
 */
export interface CgroupIdResolverOptions {
  /** Root of the cgroup v2 hierarchy; on this kind of host `/sys/fs/cgroup/unified`. */
  root: string;
  minRescanMs?: number;
  now?: () => number;
}

export class CgroupIdResolver {
  private readonly root: string;
  private readonly minRescanMs: number;
  private readonly now: () => number;
  private paths = new Map<bigint, string>();
  private lastScan = Number.NEGATIVE_INFINITY;
  private scanning: Promise<void> | null = null;

  constructor(options: CgroupIdResolverOptions) {
    this.root = options.root;
    this.minRescanMs = options.minRescanMs ?? 2_000;
    this.now = options.now ?? Date.now;
  }

  /** The cgroup path (relative to the root, starting with `/`) of an id, or null when no such cgroup exists. */
  async pathOf(cgroupId: bigint): Promise<string | null> {
    const known = this.paths.get(cgroupId);
    if (known !== undefined) return known;
    if (this.now() - this.lastScan >= this.minRescanMs) await this.rescan();
    return this.paths.get(cgroupId) ?? null;
  }

  async containerOf(cgroupId: bigint): Promise<ContainerRef | null> {
    const path = await this.pathOf(cgroupId);
    return path === null ? null : containerFromCgroupPath(path);
  }

  /** Concurrent misses share one walk rather than each starting their own. */
  rescan(): Promise<void> {
    this.scanning ??= this.walkTree().finally(() => {
      this.scanning = null;
    });
    return this.scanning;
  }

  private async walkTree(): Promise<void> {
    const found = new Map<bigint, string>();
    const pending: string[] = ["/"];
    while (pending.length > 0) {
      const relative = pending.pop() as string;
      const absolute = join(this.root, relative);
      let ino: bigint;
      let entries: Dirent[];
      try {
        ino = (await stat(absolute, { bigint: true })).ino;
        entries = await readdir(absolute, { withFileTypes: true });
      } catch (error) {
        // A cgroup removed while we walk is normal (containers stop); anything else is a real fault.
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw error;
      }
      found.set(ino, relative);
      for (const entry of entries) {
        if (entry.isDirectory())
          pending.push(relative === "/" ? `/${entry.name}` : `${relative}/${entry.name}`);
      }
    }
    this.paths = found;
    this.lastScan = this.now();
  }
}
