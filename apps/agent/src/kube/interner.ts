/**
 * One copy of each equal value instead of one per pod. Every object from the API server arrives as its
 * own parsed JSON, so 50k pods carry 50k copies of their namespace, node name, label keys and values,
 * container names and equal label sets, though a cluster has few distinct ones (the pods of one
 * ReplicaSet have the same labels). Entries hold the pooled copy; the parsed one becomes garbage.
 *
 * The pool is bounded: past `maxSize` distinct values it starts over (values churn: a rollout brings a
 * new `pod-template-hash`). Values pooled before still work; only their sharing with later ones ends.
 */
export class Interner<T> {
  private pool = new Map<string, T>();

  constructor(private readonly maxSize = 50_000) {}

  /** The pooled value for `key`, made with `make` (and pooled) when there is none. */
  get(key: string, make: () => T): T {
    const pooled = this.pool.get(key);
    if (pooled !== undefined) return pooled;
    if (this.pool.size >= this.maxSize) this.pool = new Map();
    const value = make();
    this.pool.set(key, value);
    return value;
  }
}

/**
 * Pools short strings. A string read from JSON or cut from a longer one (`slice`) may be a view that
 * keeps its whole source alive; the pooled copy is made flat so it holds only its own characters.
 */
export class StringPool {
  private pool = new Map<string, string>();

  constructor(private readonly maxSize = 50_000) {}

  get(value: string): string {
    const pooled = this.pool.get(value);
    if (pooled !== undefined) return pooled;
    if (this.pool.size >= this.maxSize) this.pool = new Map();
    // The flat copy is both key and value: keyed by `value`, the pool would keep the view (and its
    // source) alive next to the copy.
    const flat = flatCopy(value);
    this.pool.set(flat, flat);
    return flat;
  }
}

/**
 * A copy of `value` that shares no storage with the string it was cut from: V8 keeps a substring of 13
 * or more characters as a slice of its parent (`containerd://<64 hex>` → the 64 hex keep all 77).
 */
export function flatCopy(value: string): string {
  return value.length < 13 ? value : Buffer.from(value, "utf8").toString("utf8");
}
