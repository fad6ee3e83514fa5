// Content-addressed dictionaries of the flow store: flows.rollup_dims (a rollup row's dimension values) and
// flows.endpoints (an endpoint's identity). A key is a hash of the values, so a row's values never change.
// Each row carries the last UTC day a writer confirmed it (`last_seen`): a writer that has seen a key commit
// today need not send it again; the next day it confirms it once more. Retention deletes keys no remaining
// partition can use (retention.ts).
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";

export type CellValue = string | number | null;

const DAY_MS = 86_400_000;

/**
 * One dictionary table: `keyColumn` (uuid) then `columns`, then `last_seen`. Remembers the keys this process
 * saw committed today (UTC), bounded so a churning fleet (pod names change on every deploy) cannot grow it
 * without limit; forgetting only costs a redundant insert.
 */
export class ContentDictionary {
  /** key → the UTC day number it was confirmed on. */
  private readonly known = new Map<string, number>();
  private readonly stage: string;
  constructor(
    readonly table: string,
    readonly keyColumn: string,
    readonly columns: readonly string[],
    private readonly max = 200_000,
    private readonly now: () => number = Date.now,
  ) {
    this.stage = `${table.replace(/\W/g, "_")}_stage`;
  }

  private today(): number {
    return Math.floor(this.now() / DAY_MS);
  }

  /** True when this process saw the key committed (inserted or confirmed) today. */
  has(key: string): boolean {
    return this.known.get(key) === this.today();
  }

  /**
   * Inserts, inside the caller's transaction, the entries whose keys this process has not seen committed.
   * Through COPY into a session-temporary staging table (emptied at every commit): serialising thousands of
   * rows as array parameters costs more than the database work. Returns the keys to {@link remember} once
   * the transaction commits.
   */
  async insertNew(
    client: pg.PoolClient,
    entries: ReadonlyMap<string, readonly CellValue[]>,
  ): Promise<string[]> {
    const fresh: CellValue[][] = [];
    const today = this.today();
    for (const [key, values] of entries) if (this.known.get(key) !== today) fresh.push([key, ...values]);
    if (fresh.length === 0) return [];
    const columns = [this.keyColumn, ...this.columns].join(", ");
    await client.query(
      `CREATE TEMP TABLE IF NOT EXISTS ${this.stage} (LIKE ${this.table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`,
    );
    await copyText(client, `${this.stage} (${columns})`, fresh);
    // Sorted so concurrent writers take the key locks in one order (no deadlock). A key already stored is
    // confirmed for today; the row lock also orders this against retention deleting the key.
    await client.query(
      `INSERT INTO ${this.table} AS d (${columns}, last_seen)
       SELECT ${columns}, (now() AT TIME ZONE 'UTC')::date FROM ${this.stage} ORDER BY ${this.keyColumn}
       ON CONFLICT (${this.keyColumn}) DO UPDATE SET last_seen = EXCLUDED.last_seen
        WHERE d.last_seen < EXCLUDED.last_seen`,
    );
    return fresh.map((row) => row[0] as string);
  }

  remember(keys: readonly string[]): void {
    if (this.known.size + keys.length > this.max) this.known.clear();
    const today = this.today();
    for (const k of keys) this.known.set(k, today);
  }
}

/** The 16 bytes of the md5 of `text`: a stable uuid-shaped content key. */
export function contentKeyBytes(text: string): Buffer {
  return createHash("md5").update(text).digest();
}

/** The text form (8-4-4-4-12 hex) of 16 key bytes. */
export function uuidText(bytes: Buffer): string {
  const h = bytes.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

// COPY text format: tab-separated, \N for null, backslash escapes for the four special characters. Used for
// the few rows per batch of dictionaries and rollup sums (the records themselves go in binary).
const needsEscape = /[\\\n\r\t]/;
export function copyTextValue(value: CellValue): string {
  if (value === null) return "\\N";
  if (typeof value === "number") return String(value);
  if (!needsEscape.test(value)) return value;
  return value.replace(/[\\\n\r\t]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t",
  );
}

/** COPYs rows (text format) into `target` ("table (columns)"). */
export async function copyText(
  client: pg.PoolClient,
  target: string,
  rows: readonly (readonly CellValue[])[],
): Promise<void> {
  const lines = rows.map((row) => `${row.map(copyTextValue).join("\t")}\n`);
  await pipeline(Readable.from(chunked(lines)), client.query(copyFrom(`COPY ${target} FROM STDIN`)));
}

// COPY data goes out in ~64 KiB pieces, each one join of its lines: measured 2-4x cheaper per line than
// growing one string with += (a deep rope that V8 must flatten).
const COPY_CHUNK_CHARS = 1 << 16;

function* chunked(lines: Iterable<string>): Generator<string> {
  let parts: string[] = [];
  let size = 0;
  for (const line of lines) {
    parts.push(line);
    size += line.length;
    if (size >= COPY_CHUNK_CHARS) {
      yield parts.join("");
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) yield parts.join("");
}
