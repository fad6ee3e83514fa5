// The flow store's dictionaries (flows.endpoints, flows.rollup_dims) against real PostgreSQL: a writer
// confirms each key it uses once a day, and retention deletes only keys no remaining partition can use.
import { emptyEndpoint, flowRecordWith, packFlowBatch } from "@kernflow/protocol";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContentDictionary } from "../src/flows/dictionary";
import { createFlowStore, type FlowStore } from "../src/index";
import { createTestDatabase, type TestDatabase } from "../src/testing";

const PLAN = "1f0e0d0c-0b0a-4908-8706-050403020100";
const DEVICE = "eeeeeeee-0000-4000-8000-00000000000e";
const DAY = 86_400_000;

let db: TestDatabase;
let pool: pg.Pool;
let store: FlowStore;
beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  store = createFlowStore(db.url);
});
afterAll(async () => {
  await store?.close();
  await pool?.end();
  await db?.cleanup();
});

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function lastSeen(table: string, keyColumn: string, key: string): Promise<string | undefined> {
  const { rows } = await pool.query(
    `SELECT to_char(last_seen, 'YYYY-MM-DD') AS day FROM flows.${table} WHERE ${keyColumn} = $1`,
    [key],
  );
  return rows[0]?.day;
}

describe("flow dictionaries", () => {
  it("confirm a key again on a new day, once, and not again the same day", async () => {
    let clock = Date.now();
    const dictionary = new ContentDictionary(
      "flows.endpoints",
      "endpoint_key",
      ["process_name"],
      100,
      () => clock,
    );
    const key = "0a0b0c0d-0000-4000-8000-000000000001";
    const entries = new Map([[key, ["confirm-me"]]]);
    const insert = async () => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const keys = await dictionary.insertNew(client, entries);
        await client.query("COMMIT");
        dictionary.remember(keys);
        return keys;
      } finally {
        client.release();
      }
    };
    expect(await insert()).toEqual([key]);
    expect(await insert()).toEqual([]);
    await pool.query("UPDATE flows.endpoints SET last_seen = last_seen - 9 WHERE endpoint_key = $1", [key]);
    clock += DAY;
    expect(dictionary.has(key)).toBe(false);
    expect(await insert()).toEqual([key]);
    expect(await lastSeen("endpoints", "endpoint_key", key)).toBe(
      (await pool.query("SELECT to_char((now() AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS d")).rows[0].d,
    );
  });

  it("are pruned by retention of keys confirmed before the oldest remaining day, and only those", async () => {
    const now = Date.now();
    const ts = new Date(now - 60_000).toISOString();
    const used = { ...emptyEndpoint(), process_name: "still-used" };
    await store.writeBatch(
      DEVICE,
      PLAN,
      packFlowBatch(crypto.randomUUID(), [flowRecordWith({ ts_start: ts, src: used })]),
    );
    const { rows: usedKeys } = await pool.query(
      "SELECT endpoint_key::text AS key FROM flows.endpoints WHERE process_name = 'still-used'",
    );
    expect(usedKeys).toHaveLength(1);
    // Orphans: confirmed 5 days ago (prunable: the oldest remaining day is today) and yesterday (kept: margin).
    const old = "0a0b0c0d-0000-4000-8000-0000000000a5";
    const recent = "0a0b0c0d-0000-4000-8000-0000000000a1";
    await pool.query(
      `INSERT INTO flows.endpoints (endpoint_key, process_name, last_seen) VALUES
         ($1, 'orphan-old', $3::date), ($2, 'orphan-recent', $4::date)`,
      [old, recent, utcDay(now - 5 * DAY), utcDay(now - DAY)],
    );
    await pool.query(
      "INSERT INTO flows.rollup_dims (dims_key, device, vantage, interface, direction, protocol, last_seen) VALUES ($1, 'gone', 'src', 'eth0', 'egress', 6, $2::date)",
      [old, utcDay(now - 5 * DAY)],
    );
    const result = await store.applyRetention([{ planId: PLAN, retentionDays: 30 }], new Date(now));
    expect(result.dictionaryKeysPruned).toBe(2);
    expect(await lastSeen("endpoints", "endpoint_key", old)).toBeUndefined();
    expect(await lastSeen("rollup_dims", "dims_key", old)).toBeUndefined();
    expect(await lastSeen("endpoints", "endpoint_key", recent)).toBe(utcDay(now - DAY));
    expect(await lastSeen("endpoints", "endpoint_key", usedKeys[0].key)).toBeDefined();
    // The record still reads back whole through the view.
    const { rows } = await pool.query(
      "SELECT src_process_name FROM flows.records_wide WHERE device_id = $1",
      [DEVICE],
    );
    expect(rows).toEqual([{ src_process_name: "still-used" }]);
  });
});
