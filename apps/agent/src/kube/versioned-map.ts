/**
 * A map whose every change carries a version, so a reader holding version V can be sent only what
 * changed after V. Deletions are kept as tombstones until there are too many; a reader older than the
 * newest forgotten tombstone can no longer be brought up to date and must take a snapshot.
 *
 * Each change re-inserts its key, so the Map's iteration order is version order: pruning the oldest
 * tombstones walks from the front. A log of (version, key) in change order lets a reader's changes be
 * found in time proportional to what changed, not to the map's size; it is rebuilt from the map when
 * it grows past twice the map.
 */
export class VersionedMap<T> {
  private readonly items = new Map<string, { version: number; entry: T | null }>();
  private tombstones = 0;
  private liveCount = 0;
  private logVersions: number[] = [];
  private logKeys: string[] = [];
  /** Changes at or below this version may have been forgotten. */
  forgottenThrough = 0;

  constructor(private readonly maxTombstones: number) {}

  get size(): number {
    return this.liveCount;
  }

  get(key: string): T | undefined {
    return this.items.get(key)?.entry ?? undefined;
  }

  set(key: string, entry: T, version: number): void {
    const old = this.items.get(key);
    if (old === undefined || old.entry === null) this.liveCount += 1;
    if (old?.entry === null) this.tombstones -= 1;
    this.items.delete(key);
    this.items.set(key, { version, entry });
    this.log(key, version);
  }

  /** Returns whether the key was present. */
  remove(key: string, version: number): boolean {
    const old = this.items.get(key);
    if (old === undefined || old.entry === null) return false;
    this.items.delete(key);
    this.items.set(key, { version, entry: null });
    this.log(key, version);
    this.liveCount -= 1;
    this.tombstones += 1;
    if (this.tombstones > this.maxTombstones) this.pruneTombstones();
    return true;
  }

  values(): T[] {
    const out: T[] = [];
    for (const item of this.items.values()) if (item.entry !== null) out.push(item.entry);
    return out;
  }

  changedSince(since: number): { upserted: T[]; removed: string[] } {
    const upserted: T[] = [];
    const removed: string[] = [];
    const versions = this.logVersions;
    // First log position with a version after `since` (the log is in version order).
    let lo = 0;
    let hi = versions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((versions[mid] as number) <= since) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < versions.length; i++) {
      const key = this.logKeys[i] as string;
      const item = this.items.get(key);
      // A key changed twice appears twice: report it at its latest change only.
      if (item === undefined || item.version !== versions[i]) continue;
      if (item.entry === null) removed.push(key);
      else upserted.push(item.entry);
    }
    return { upserted, removed };
  }

  private log(key: string, version: number): void {
    this.logVersions.push(version);
    this.logKeys.push(key);
    if (this.logKeys.length <= 2 * this.items.size + 1024) return;
    // Compact: one log entry per key, in the map's (version) order.
    this.logVersions = [];
    this.logKeys = [];
    for (const [k, item] of this.items) {
      this.logVersions.push(item.version);
      this.logKeys.push(k);
    }
  }

  /** Forgets the older half of the tombstones, remembering the newest version forgotten. */
  private pruneTombstones(): void {
    const keep = Math.floor(this.maxTombstones / 2);
    for (const [key, item] of this.items) {
      if (this.tombstones <= keep) break;
      if (item.entry !== null) continue;
      this.items.delete(key);
      this.tombstones -= 1;
      if (item.version > this.forgottenThrough) this.forgottenThrough = item.version;
    }
  }
}
