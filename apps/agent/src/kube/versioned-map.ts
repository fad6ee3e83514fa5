/**
 * A map whose every change carries a version, so a reader holding version V can be sent only what
 * changed after V. Deletions are kept as tombstones until there are too many; a reader older than the
 * newest forgotten tombstone can no longer be brought up to date and must take a snapshot.
 *
 * Each change re-inserts its key, so the Map's iteration order is version order: pruning the oldest
 * tombstones walks from the front.
 */
export class VersionedMap<T> {
  private readonly items = new Map<string, { version: number; entry: T | null }>();
  private tombstones = 0;
  private liveCount = 0;
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
  }

  /** Returns whether the key was present. */
  remove(key: string, version: number): boolean {
    const old = this.items.get(key);
    if (old === undefined || old.entry === null) return false;
    this.items.delete(key);
    this.items.set(key, { version, entry: null });
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
    for (const [key, item] of this.items) {
      if (item.version <= since) continue;
      if (item.entry === null) removed.push(key);
      else upserted.push(item.entry);
    }
    return { upserted, removed };
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
