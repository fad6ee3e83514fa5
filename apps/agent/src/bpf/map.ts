import { BpfCallError } from "../capture/errors";
import { libbpf } from "./libbpf";
import { roundUp8 } from "./structs";

const ENOENT = 2;
const ENOSPC = 28;
const EINVAL = 22;
const ENOTSUPP = 524;
const EOPNOTSUPP = 95;

let cpuCount: number | undefined;
/** Possible CPUs: the number of slots in every per-CPU map value. */
export function possibleCpus(): number {
  if (cpuCount === undefined) {
    const n = libbpf().numPossibleCpus();
    if (n <= 0) throw new BpfCallError("libbpf_num_possible_cpus", -n);
    cpuCount = n;
    return n;
  }
  return cpuCount;
}

export interface MapEntry {
  key: Buffer;
  value: Buffer;
}

/** A loaded map, by file descriptor (owned by its BpfObject). */
export class BpfMap {
  /** Bytes of one value as user space sees it: per-CPU maps hold one 8-byte aligned slot per CPU. */
  readonly valueBytes: number;
  private batchSupported = true;

  constructor(
    readonly name: string,
    readonly fd: number,
    readonly keySize: number,
    readonly valueSize: number,
    readonly perCpu: boolean,
  ) {
    this.valueBytes = perCpu ? roundUp8(valueSize) * possibleCpus() : valueSize;
  }

  lookup(key: Buffer): Buffer | undefined {
    const value = Buffer.alloc(this.valueBytes);
    const err = libbpf().mapLookupElem(this.fd, key, value);
    if (err === -ENOENT) return undefined;
    if (err < 0) throw new BpfCallError(`lookup in ${this.name}`, -err);
    return value;
  }

  update(key: Buffer, value: Buffer): void {
    const err = libbpf().mapUpdateElem(this.fd, key, value, 0);
    if (err < 0) throw new BpfCallError(`update of ${this.name}`, -err);
  }

  /** Update with flags (BPF_NOEXIST = 1): false when the key exists (EEXIST) or the map is full (E2BIG). */
  insert(key: Buffer, value: Buffer, flags: bigint): boolean {
    const err = libbpf().mapUpdateElem(this.fd, key, value, flags);
    if (err === -17 || err === -7) return false;
    if (err < 0) throw new BpfCallError(`insert into ${this.name}`, -err);
    return true;
  }

  delete(key: Buffer): boolean {
    const err = libbpf().mapDeleteElem(this.fd, key);
    if (err === -ENOENT) return false;
    if (err < 0) throw new BpfCallError(`delete from ${this.name}`, -err);
    return true;
  }

  keys(): Buffer[] {
    const keys: Buffer[] = [];
    let prev: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(this.keySize);
      const err = libbpf().mapGetNextKey(this.fd, prev, next);
      if (err === -ENOENT) return keys;
      if (err < 0) throw new BpfCallError(`iteration of ${this.name}`, -err);
      keys.push(next);
      prev = next;
    }
  }

  entries(): MapEntry[] {
    const out: MapEntry[] = [];
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value) out.push({ key, value });
    }
    return out;
  }

  /** Reads and removes every entry. Uses BPF_MAP_LOOKUP_AND_DELETE_BATCH (one syscall per few thousand
   * entries, each bucket read and emptied under its lock) and falls back to key-by-key where the kernel
   * lacks batch ops for this map type. */
  /** Reads every entry without removing any (BPF_MAP_LOOKUP_BATCH, or key by key where unsupported). */
  dump(options: { batchSize?: number; batch?: boolean } = {}): MapEntry[] {
    if (this.batchSupported && options.batch !== false) {
      const batched = this.batched(options.batchSize ?? 4096, false);
      if (batched) return batched;
      this.batchSupported = false;
    }
    return this.entries();
  }

  drain(options: { batchSize?: number; batch?: boolean } = {}): MapEntry[] {
    const batchSize = options.batchSize ?? 4096;
    if (this.batchSupported && options.batch !== false) {
      const batched = this.batched(batchSize, true);
      if (batched) return batched;
      // Remembered: the kernel will not grow batch support for this map while we run.
      this.batchSupported = false;
    }
    const out: MapEntry[] = [];
    for (const key of this.keys()) {
      const value = this.lookup(key);
      // Deleted only after a successful read: what is counted after this lookup belongs to the
      // next entry the program creates, so nothing is lost but the few packets in between.
      if (value && this.delete(key)) out.push({ key, value });
    }
    return out;
  }

  private batched(initialBatchSize: number, remove: boolean): MapEntry[] | undefined {
    const call = remove ? libbpf().mapLookupAndDeleteBatch : libbpf().mapLookupBatch;
    const out: MapEntry[] = [];
    let batchSize = initialBatchSize;
    // The kernel's batch token for hash maps is a bucket index; 8 bytes covers every map type.
    const token = Buffer.alloc(Math.max(8, this.keySize));
    let inBatch: Buffer | null = null;
    for (;;) {
      const keys = Buffer.alloc(this.keySize * batchSize);
      const values = Buffer.alloc(this.valueBytes * batchSize);
      const count = Buffer.alloc(4);
      count.writeUInt32LE(batchSize);
      const outBatch = Buffer.alloc(token.length);
      const err = call(this.fd, inBatch, outBatch, keys, values, count, null);
      const n = count.readUInt32LE();
      if (err < 0 && err !== -ENOENT) {
        if (err === -ENOSPC) {
          // One bucket holds more entries than the batch: retry the same position with room for it.
          batchSize *= 2;
          continue;
        }
        if (
          out.length === 0 &&
          inBatch === null &&
          (err === -EINVAL || err === -ENOTSUPP || err === -EOPNOTSUPP)
        ) {
          return undefined;
        }
        throw new BpfCallError(`batch ${remove ? "drain" : "read"} of ${this.name}`, -err);
      }
      for (let i = 0; i < n; i++) {
        out.push({
          key: Buffer.from(keys.subarray(i * this.keySize, (i + 1) * this.keySize)),
          value: Buffer.from(values.subarray(i * this.valueBytes, (i + 1) * this.valueBytes)),
        });
      }
      if (err === -ENOENT) return out;
      inBatch = outBatch;
    }
  }
}
