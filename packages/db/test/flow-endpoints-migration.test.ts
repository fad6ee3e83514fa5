// The migration that moved endpoint identities out of flows.records (20261126070000_flow_endpoints): rows
// stored in the old wide layout survive it, read back identically through flows.records_wide, in
// partitions of the same names and bounds; and the view still prunes partitions by ts_start.
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { emptyEndpoint, flowRecordWith, packFlowBatch } from "@kernflow/protocol";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createFlowStore, listDayPartitions, wideRecordColumns } from "../src/index";
import { migrate } from "../src/migrate";
import { defaultMigrationsDir } from "../src/paths";
import { createTestDatabase, type TestDatabase } from "../src/testing";

const MIGRATION = "20261126070000_flow_endpoints";
const PLANS = ["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"];
const DAYS = ["2026-11-24", "2026-11-25"];

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Partitions as the partition manager made them before the migration (same names, bounds and index). */
function oldPartitionsSql(planId: string): string {
  const tag = planId.replaceAll("-", "");
  const days = DAYS.map((d) => {
    const name = `records_${tag}_${d.replaceAll("-", "")}`;
    const next = new Date(Date.parse(d) + 86_400_000).toISOString();
    return `CREATE TABLE flows.${name} PARTITION OF flows.records_${tag} FOR VALUES FROM ('${d}T00:00:00Z') TO ('${next}');
            CREATE INDEX ${name}_ts ON flows.${name} USING brin (ts_start);`;
  });
  return `CREATE TABLE flows.records_${tag} PARTITION OF flows.records FOR VALUES IN ('${planId}')
            PARTITION BY RANGE (ts_start); ${days.join("\n")}`;
}

/** Old-layout rows: two endpoint identities (one with labels and special characters), nulls, pids. */
function oldRowsSql(planId: string, day: string, n: number): string {
  return `INSERT INTO flows.records (${wideRecordColumns.join(", ")})
    SELECT '${planId}', ('dddddddd-0000-4000-8000-00000000000' || (g % 2))::uuid, '${day}T10:00:00Z'::timestamptz + g * interval '1.5 s',
           '${day}T10:00:09.123456Z', 'node-1', CASE WHEN g % 2 = 0 THEN 'src' ELSE 'dst' END, 'eth0', 'egress', 6,
           ('10.0.0.' || g)::inet, (CASE WHEN g % 3 = 0 THEN '2001:db8::' || g ELSE '10.9.0.1' END)::inet, 40000 + g, 443,
           1000 * g, g, 1, 24, g % 2, CASE WHEN g % 4 = 0 THEN NULL ELSE 300 + g END,
           CASE WHEN g % 2 = 0 THEN 1.5 END,
           1000 + g % 3, 'api', E'/usr/bin/api --x=\\ta\\nb', 'c0ffee', 'api', 'node-1', 'api-7d9f-1', 'shop',
           'pod', 'api', 'shop', '{"app":"démo","tier":"web"}'::jsonb,
           NULL, NULL, NULL, NULL, NULL, NULL, CASE WHEN g % 2 = 0 THEN 'db' END, 'shop', 'service', 'db',
           'shop', NULL, CASE WHEN g % 5 = 0 THEN NULL ELSE 'prod' END
      FROM generate_series(1, ${n}) AS g`;
}

async function partitionsOf(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ relname: string; bound: string }>(
    `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'flows' AND c.relispartition AND c.relname LIKE 'records%' ORDER BY c.relname`,
  );
  return rows.map((r) => `${r.relname} ${r.bound}`);
}

describe(`migration ${MIGRATION}`, () => {
  it("keeps every old row, readable through flows.records_wide in partitions of the same names", async () => {
    const db: TestDatabase = await createTestDatabase({ migrated: false });
    cleanups.push(() => db.cleanup());
    const dir = await mkdtemp(path.join(os.tmpdir(), "kernflow-migrations-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    for (const name of await readdir(defaultMigrationsDir())) {
      if (name < MIGRATION)
        await cp(path.join(defaultMigrationsDir(), name), path.join(dir, name), { recursive: true });
    }
    await migrate(db.url, { migrationsDir: dir });

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    cleanups.push(() => client.end());
    for (const plan of PLANS) {
      await client.query(oldPartitionsSql(plan));
      for (const day of DAYS) await client.query(oldRowsSql(plan, day, 40));
    }
    const columns = wideRecordColumns.join(", ");
    const order = "ORDER BY plan_id, ts_start, src_port";
    const before = (await client.query(`SELECT ${columns} FROM flows.records ${order}`)).rows;
    const partitionsBefore = await partitionsOf(client);
    expect(before).toHaveLength(PLANS.length * DAYS.length * 40);

    await cp(path.join(defaultMigrationsDir(), MIGRATION), path.join(dir, MIGRATION), { recursive: true });
    expect((await migrate(db.url, { migrationsDir: dir })).applied).toEqual([MIGRATION]);

    expect((await client.query(`SELECT ${columns} FROM flows.records_wide ${order}`)).rows).toEqual(before);
    expect(await partitionsOf(client)).toEqual(partitionsBefore);
    const { rows: indexes } = await client.query(
      `SELECT indexname FROM pg_indexes WHERE schemaname = 'flows' AND indexdef LIKE '%brin%' ORDER BY 1`,
    );
    expect(indexes).toHaveLength(PLANS.length * DAYS.length);
    // One src identity (every row alike but the pid) and two dst ones (object_name 'db' or null), once each.
    const { rows: endpoints } = await client.query("SELECT count(*)::int AS n FROM flows.endpoints");
    expect(endpoints[0].n).toBe(3);
    const { rows: old } = await client.query("SELECT to_regclass('flows.records_old') AS t");
    expect(old[0].t).toBeNull();

    // The store's catalog readers and writer work on the migrated tables, once the later migrations are in.
    await migrate(db.url);
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    cleanups.push(() => pool.end());
    expect((await listDayPartitions(pool)).filter((p) => p.table === "records")).toHaveLength(4);
    const store = createFlowStore(pool);
    const plan = PLANS[0] as string;
    const [one] = await client
      .query(`SELECT ${columns} FROM flows.records_wide ${order} LIMIT 1`)
      .then((r) => r.rows);
    const written = {
      ...emptyEndpoint(),
      process_name: "written-after",
    };
    const ts = "2026-11-25T12:00:00.000001Z";
    await store.writeBatch(
      "dddddddd-0000-4000-8000-000000000009",
      plan,
      packFlowBatch(crypto.randomUUID(), [
        flowRecordWith({
          ts_start: ts,
          bytes: 3,
          src: written,
          dst: { ...emptyEndpoint(), object_labels: one.src_object_labels },
        }),
      ]),
    );
    const { rows: after } = await client.query(
      "SELECT src_process_name, dst_object_labels FROM flows.records_wide WHERE ts_start = $1",
      [ts],
    );
    expect(after).toEqual([{ src_process_name: "written-after", dst_object_labels: one.src_object_labels }]);
    await store.close();

    // A ts_start range through the view scans one day partition of one plan.
    const { rows: plan1 } = await client.query(
      `EXPLAIN (FORMAT JSON) SELECT count(*), min(src_process_name) FROM flows.records_wide
        WHERE plan_id = $1 AND ts_start >= '2026-11-25T10:00:00Z' AND ts_start < '2026-11-25T11:00:00Z'`,
      [plan],
    );
    const text = JSON.stringify(plan1[0]["QUERY PLAN"]);
    const scanned = [...new Set(text.match(/records_[0-9a-f]{32}_\d{8}/g))];
    expect(scanned).toEqual([`records_${plan.replaceAll("-", "")}_20261125`]);
  });
});
