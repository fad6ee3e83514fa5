/**
 * Flow query latency over a full day: N flow records (default 50M) generated with SQL generate_series
 * straight into one day partition as the store keeps them (narrow rows, endpoint identities once in
 * flows.endpoints; as a fleet of 10 nodes would have shipped them), the rollup tiers built
 * from those raw rows, then the engine's queries timed (median of runs, and the database server's CPU time).
 *
 *   npm run bench:flows:query -w @kernflow/bench -- [--records 50000000] [--runs 5] [--raw] [--json FILE]
 *
 * `--raw` also times the day-long top-10 forced onto raw records (slow by design: it is why rollups exist).
 * `--services N` (default 8) gives each pod N services to talk to: 80 × N dimension combinations.
 * `--explain` prints each query's EXPLAIN ANALYZE (run under the engine's own settings) after its timings.
 * Runs on a private embedded PostgreSQL in a temporary folder (removed at the end).
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { createFlowStore, dayPartitionName, type FlowQueryScope, rollupDimensions } from "@kernflow/db";
import { createTestDatabase, stopTestServer } from "@kernflow/db/testing";
import { type FlowQueryInput, flowQuerySchema, packFlowBatch } from "@kernflow/protocol";
import pg from "pg";
import { z } from "zod";
import { QUERY_SETTINGS } from "../../packages/db/src/flows/query";
import { postgresServerCpu } from "../lab";
import { benchRecords } from "./records";

const flags = z
  .object({
    records: z.coerce.number().int().min(10_000).max(200_000_000),
    runs: z.coerce.number().int().min(1).max(50),
    services: z.coerce.number().int().min(1).max(250),
    raw: z.boolean(),
    explain: z.boolean(),
    json: z.string().min(1).optional(),
  })
  .parse(
    parseArgs({
      options: {
        records: { type: "string", default: "50000000" },
        runs: { type: "string", default: "5" },
        services: { type: "string", default: "8" },
        raw: { type: "boolean", default: false },
        explain: { type: "boolean", default: false },
        json: { type: "string" },
      },
    }).values,
  );

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

const DAY = 86_400_000;
const database = await createTestDatabase();
const port = new URL(database.url).port;
// Two generating connections and one for the rest.
const pool = new pg.Pool({ connectionString: database.url, max: 3 });
const store = createFlowStore(database.url);
const figures: Record<string, number> = {};
try {
  const dayStart = Math.floor(Date.now() / DAY) * DAY - DAY;
  const plan = await database.prisma.plan.create({
    data: { name: "bench", maxDevices: 100, maxFlowsPerSecond: 1_000_000, retentionDays: 30 },
  });
  const device = await database.prisma.device.create({ data: { name: "node-0", planId: plan.id } });
  // One real batch through the writer creates the day's partitions (and its BRIN index on ts_start).
  await store.writeBatch(
    device.id,
    plan.id,
    packFlowBatch(crypto.randomUUID(), benchRecords(10, "node-0", dayStart, 60_000)),
  );
  const rawName = dayPartitionName("records", plan.id, dayStart);
  const raw = `flows."${rawName}"`;
  const rollup = `flows."${dayPartitionName("rollup_1m", plan.id, dayStart)}"`;
  const rollup5 = `flows."${dayPartitionName("rollup_5m", plan.id, dayStart)}"`;
  // Only the partitions were wanted: start from empty tables.
  await pool.query(`TRUNCATE ${raw}, ${rollup}, ${rollup5}, flows.rollup_dims, flows.endpoints`);
  // Bench-only shortcuts that change nothing a query reads: the raw partition is UNLOGGED while it is
  // filled (no 14 GB of WAL on this one disk; its pages and the plans over them are the same as a logged
  // table's), and not auto-vacuumed, so a background pass over 50M rows does not run during the timings.
  await pool.query(`ALTER TABLE ${raw} SET UNLOGGED, SET (autovacuum_enabled = false)`);

  const dims = rollupDimensions.join(", ");
  // Per-minute sums of each generated chunk, with their dimension values; summed into the tiers at the end.
  await pool.query(
    `CREATE UNLOGGED TABLE bench_rollup_stage (LIKE flows.rollup_dims);
     ALTER TABLE bench_rollup_stage ADD COLUMN minute timestamptz NOT NULL, ADD COLUMN records bigint NOT NULL,
       ADD COLUMN bytes bigint NOT NULL, ADD COLUMN packets bigint NOT NULL, ADD COLUMN retransmits bigint NOT NULL`,
  );
  const generators = await Promise.all([pool.connect(), pool.connect()]);
  for (const c of generators) {
    // Hash aggregates over a chunk found through the BRIN index (the partition has no statistics while it
    // fills, and a sort or a seq scan of the growing table would make the build quadratic).
    await c.query(
      `SET synchronous_commit = off; SET work_mem = '256MB'; SET enable_sort = off; SET enable_seqscan = off`,
    );
  }
  // 80 combinations per remote service (10 nodes x 4 local pods x 2 directions); --services N (default 8)
  // names services beyond the first 8 "<name>-1", "<name>-2", ... to see how the rollup queries scale.
  const combinations = 80 * flags.services;
  // Record g's time: the same expression in the generator and in each chunk's range, so they agree exactly.
  const tsOf = (g: string) => `$1::timestamptz + (${g}::float8 / $2) * interval '1 day'`;
  // 10 nodes, 4 pods of 8 services per node, each record one direction of a pod talking to a service:
  // (vantage src, egress) for the request side, (vantage dst, ingress) for the reply. Every dimension value
  // is a function of g % combinations (640 by default), so they are computed once (bench_combos) and
  // joined, not rebuilt per row; addresses, ports, sizes, RTT and latency still vary per record. Endpoint
  // identities go to flows.endpoints once, keyed like the migration keys them (md5 of the values' JSON
  // array); records carry the keys, as the writer stores them.
  await pool.query(
    `CREATE UNLOGGED TABLE bench_combos AS
      SELECT i, 'node-' || node AS device, CASE WHEN req THEN 'src' ELSE 'dst' END AS vantage,
             CASE WHEN req THEN 'egress' ELSE 'ingress' END AS direction,
             (CASE WHEN node = 0 THEN 17 ELSE 6 END)::smallint AS protocol,
             '10.0.0.0'::inet + node * 65536 AS src_net, '10.9.0.0'::inet + svc * 256 AS dst_net,
             CASE WHEN svc % 2 = 0 THEN 443 ELSE 8080 END AS dst_port,
             CASE WHEN req THEN local ELSE remote END AS s_name, CASE WHEN req THEN 'node-' || node END AS s_node,
             CASE WHEN req THEN local || '-' || node ELSE remote END AS s_obj,
             CASE WHEN req THEN 'pod' ELSE 'service' END AS s_type,
             CASE WHEN req THEN remote ELSE local END AS d_name, CASE WHEN req THEN NULL ELSE 'node-' || node END AS d_node,
             CASE WHEN req THEN remote ELSE local || '-' || node END AS d_obj,
             CASE WHEN req THEN 'service' ELSE 'pod' END AS d_type
        FROM (SELECT i, i % 10 AS node, (i / 10) % 2 = 0 AS req,
                     (ARRAY['checkout','payments','catalog','search','cart','auth','ledger','mailer'])[((i / 20) % 4 + (i % 10) * 3) % 8 + 1] AS local,
                     (ARRAY['checkout','payments','catalog','search','cart','auth','ledger','mailer'])[(i / 80) % 8 + 1]
                       || CASE WHEN i / 640 > 0 THEN '-' || (i / 640) ELSE '' END AS remote,
                     (i / 80) % ${flags.services} AS svc
                FROM generate_series(0, ${combinations - 1}) AS i) s;
     ALTER TABLE bench_combos
       ADD COLUMN s_key uuid, ADD COLUMN d_key uuid;
     UPDATE bench_combos SET
       s_key = md5(json_build_array(s_name, NULL, NULL, s_name, s_node, s_obj, 'shop', s_type, s_name, 'shop', NULL)::text)::uuid,
       d_key = md5(json_build_array(d_name, NULL, NULL, d_name, d_node, d_obj, 'shop', d_type, d_name, 'shop', NULL)::text)::uuid;
     INSERT INTO flows.endpoints (endpoint_key, process_name, container_name, node, object_name, object_namespace,
                                  object_type, workload_name, workload_namespace)
       SELECT DISTINCT ON (key) key, name, name, node, obj, 'shop', type, name, 'shop'
         FROM (SELECT s_key, s_name, s_node, s_obj, s_type FROM bench_combos
               UNION ALL SELECT d_key, d_name, d_node, d_obj, d_type FROM bench_combos) e (key, name, node, obj, type)
        ORDER BY key
       ON CONFLICT (endpoint_key) DO NOTHING;
     ANALYZE bench_combos`,
  );
  const generate = `INSERT INTO ${raw} (plan_id, device_id, ts_start, ts_end, device, vantage, interface, direction,
       protocol, src_addr, dst_addr, src_port, dst_port, bytes, packets, sample_rate, tcp_flags, retransmits, rtt_us,
       app_latency_ms, cluster_id, src_endpoint, dst_endpoint)
    SELECT $5::uuid, $6::uuid, ts, ts + interval '9 seconds', c.device, c.vantage, 'eth0', c.direction, c.protocol,
           c.src_net + ((g % 250) * 256 + g % 7 + 1), c.dst_net + (g % 13 + 1), (32768 + g % 28000)::int, c.dst_port,
           (g % 500 + 1) * (60 + g % 1400), g % 500 + 1, 1, 24, (g % 17 = 0)::int, 200 + g % 20000,
           CASE WHEN g % 2 = 0 THEN (g % 200000) / 1000.0::float8 END, 'prod', c.s_key, c.d_key
      FROM (SELECT g, ${tsOf("g")} AS ts FROM generate_series($3::bigint, $4::bigint - 1) AS g) s
      JOIN bench_combos c ON c.i = g % ${combinations}`;
  // The chunk's rows read back from the table (endpoints joined, as the view does) and summed per minute
  // and dimension values, as the writer sums a batch (a hash aggregate over the plain columns); the dims key
  // hashed once per group, not per row. The chunk's new block ranges are summarised first, or the BRIN index
  // would return every page.
  const side = (d: string) =>
    d.startsWith("src_")
      ? `s.${d.slice(4)} AS ${d}`
      : d.startsWith("dst_")
        ? `e.${d.slice(4)} AS ${d}`
        : `r.${d}`;
  const aggregate = `INSERT INTO bench_rollup_stage (dims_key, ${dims}, minute, records, bytes, packets, retransmits)
    SELECT md5(json_build_array(${dims})::text)::uuid, ${dims}, minute, records, bytes, packets, retransmits FROM (
      SELECT to_timestamp(floor(date_part('epoch', ts_start) / 60) * 60) AS minute, ${dims}, count(*) AS records,
             sum(bytes * sample_rate) AS bytes, sum(packets * sample_rate) AS packets, sum(retransmits) AS retransmits
        FROM (SELECT r.ts_start, r.bytes, r.packets, r.sample_rate, r.retransmits, ${rollupDimensions.map(side).join(", ")}
                FROM ${raw} r JOIN flows.endpoints s ON s.endpoint_key = r.src_endpoint
                JOIN flows.endpoints e ON e.endpoint_key = r.dst_endpoint
               WHERE r.ts_start >= ${tsOf("$3")} AND r.ts_start < ${tsOf("$4")}) w
       GROUP BY minute, ${dims}) s`;
  const brin = `SELECT brin_summarize_new_values('flows."${rawName}_ts"'::regclass)`;

  // Rounds of two adjacent chunks, one per connection, so the heap stays in time order at the scale of a
  // round (as a writer with two batches in flight leaves it), which the BRIN index of short ranges needs.
  const chunk = 250_000;
  let generateMs = 0;
  let aggregateMs = 0;
  const started = performance.now();
  for (let done = 0; done < flags.records; done += 2 * chunk) {
    const ranges = [0, 1]
      .map((i) => [done + i * chunk, Math.min(done + (i + 1) * chunk, flags.records)] as const)
      .filter(([lo, hi]) => hi > lo);
    let t0 = performance.now();
    await Promise.all(
      ranges.map(([lo, hi], i) =>
        generators[i]?.query(generate, [
          new Date(dayStart).toISOString(),
          flags.records,
          lo,
          hi,
          plan.id,
          device.id,
        ]),
      ),
    );
    generateMs += performance.now() - t0;
    t0 = performance.now();
    await pool.query(brin);
    await Promise.all(
      ranges.map(([lo, hi], i) =>
        generators[i]?.query(aggregate, [new Date(dayStart).toISOString(), flags.records, lo, hi]),
      ),
    );
    aggregateMs += performance.now() - t0;
    const end = Math.min(done + 2 * chunk, flags.records);
    if (end % 5_000_000 === 0 || end === flags.records) {
      console.log(
        `generated ${end} records (${((performance.now() - started) / 1000).toFixed(0)} s; generate ${(generateMs / 1000).toFixed(0)} s, per-chunk rollup ${(aggregateMs / 1000).toFixed(0)} s; load ${load()})`,
      );
    }
  }
  for (const c of generators) c.release();
  figures.generate_seconds = generateMs / 1000;

  const t0 = performance.now();
  await pool.query(`SET work_mem = '512MB'`);
  // The chunks' sums become the tiers the writer keeps: each combination once in rollup_dims, per minute and
  // key in rollup_1m (a minute cut by a chunk boundary is summed here), and 5m from 1m as the writer does.
  await pool.query(
    `INSERT INTO flows.rollup_dims (dims_key, ${dims})
     SELECT DISTINCT ON (dims_key) dims_key, ${dims} FROM bench_rollup_stage ORDER BY dims_key`,
  );
  await pool.query(
    `INSERT INTO ${rollup} (plan_id, minute, dims_key, records, bytes, packets, retransmits)
     SELECT $1::uuid, minute, dims_key, sum(records), sum(bytes), sum(packets), sum(retransmits)
       FROM bench_rollup_stage GROUP BY minute, dims_key ORDER BY minute, dims_key`,
    [plan.id],
  );
  await pool.query(
    `INSERT INTO ${rollup5} (plan_id, minute, dims_key, records, bytes, packets, retransmits)
     SELECT plan_id, to_timestamp(floor(date_part('epoch', minute) / 300) * 300) AS slot, dims_key,
            sum(records), sum(bytes), sum(packets), sum(retransmits)
       FROM ${rollup} GROUP BY plan_id, slot, dims_key ORDER BY slot, dims_key`,
  );
  await pool.query(`DROP TABLE bench_rollup_stage, bench_combos`);
  await pool.query(`VACUUM ANALYZE ${rollup5}, ${rollup}, flows.rollup_dims, flows.endpoints`);
  // Statistics for the raw partition (a sample); its BRIN ranges are summarised already.
  await pool.query(`ANALYZE ${raw}`);
  figures.rollup_build_seconds = (aggregateMs + performance.now() - t0) / 1000;
  figures.total_build_seconds = (performance.now() - started) / 1000;
  console.log(
    `built in ${figures.total_build_seconds.toFixed(0)} s: generate ${figures.generate_seconds.toFixed(0)} s, rollups ${figures.rollup_build_seconds.toFixed(0)} s (per chunk ${(aggregateMs / 1000).toFixed(0)} s + final ${((performance.now() - t0) / 1000).toFixed(0)} s); load ${load()}`,
  );
  // The rollup must hold every generated record exactly once (chunks cut minutes, never records); counting
  // the raw table itself would read all of it again, so its size and the planner's row count are shown.
  const sizes = await pool.query<{
    raw: string;
    summed: string;
    rollup: string;
    rollup5: string;
    dims: string;
    raw_size: string;
    rollup_size: string;
  }>(
    `SELECT (SELECT reltuples::bigint FROM pg_class WHERE oid = '${raw}'::regclass) AS raw,
            (SELECT sum(records) FROM ${rollup}) AS summed, (SELECT count(*) FROM ${rollup}) AS rollup,
            (SELECT count(*) FROM ${rollup5}) AS rollup5, (SELECT count(*) FROM flows.rollup_dims) AS dims,
            pg_size_pretty(pg_total_relation_size('${raw}')) AS raw_size,
            pg_size_pretty(pg_total_relation_size('${rollup}')) AS rollup_size`,
  );
  const s = sizes.rows[0];
  console.log(
    `raw: ~${s?.raw} rows (${s?.raw_size}), ${s?.summed} in the rollup; ${s?.dims} dimension combinations; per minute: ${s?.rollup} rows (${s?.rollup_size}); per 5 minutes: ${s?.rollup5} rows`,
  );
  if (Number(s?.summed) !== flags.records) {
    throw new Error(`the rollup sums ${s?.summed} records, ${flags.records} were generated`);
  }
  figures.rollup_5m_rows = Number(s?.rollup5);
  figures.raw_rows = Number(s?.summed);
  figures.rollup_rows = Number(s?.rollup);
  figures.dimension_combinations = Number(s?.dims);

  const day = { from: new Date(dayStart).toISOString(), to: new Date(dayStart + DAY).toISOString() };
  const lastHour = { from: new Date(dayStart + DAY - 3_600_000).toISOString(), to: day.to };
  const cases: { name: string; input: FlowQueryInput; scope?: FlowQueryScope; once?: boolean }[] = [
    {
      name: "top10_bits_by_dst_workload_24h",
      input: { metric: "bits_per_s", group_by: ["dst_workload_name"], range: day },
    },
    {
      name: "top10_bits_by_src_process_dst_process_24h",
      input: { metric: "bits_per_s", group_by: ["src_process_name", "dst_process_name"], range: day },
    },
    {
      name: "top10_packets_by_device_filtered_24h",
      input: {
        metric: "packets_per_s",
        group_by: ["device"],
        filters: [{ dimension: "dst_workload_name", op: "prefix", value: "pay" }],
        range: day,
      },
    },
    {
      name: "top10_bits_by_src_addr_1h_raw",
      input: { metric: "bits_per_s", group_by: ["src_addr"], range: lastHour },
    },
    {
      name: "p95_latency_by_dst_workload_1h_raw",
      input: { metric: "app_latency_ms", aggregate: "p95", group_by: ["dst_workload_name"], range: lastHour },
    },
  ];
  if (flags.raw) {
    cases.push({
      name: "top10_bits_by_dst_workload_24h_forced_raw",
      input: { metric: "bits_per_s", group_by: ["dst_workload_name"], range: day },
      scope: { source: "raw" },
      once: true,
    });
  }
  for (const c of cases) {
    const query = flowQuerySchema.parse(c.input);
    const source = store.planQuery(query, c.scope).source;
    await store.query(query, c.scope); // warm-up: cache and plan
    const times: number[] = [];
    const cpu0 = postgresServerCpu(port);
    for (let i = 0; i < (c.once ? 1 : flags.runs); i++) {
      const t0 = performance.now();
      const result = await store.query(query, c.scope);
      times.push(performance.now() - t0);
      if (result.series.length === 0) throw new Error(`${c.name} returned no series`);
    }
    // Ticks are 10 ms: the mean over the runs, not per run.
    const cpuMs = ((postgresServerCpu(port) - cpu0) * 1000) / times.length;
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] as number;
    figures[`${c.name}_ms`] = median;
    figures[`${c.name}_server_cpu_ms`] = cpuMs;
    if (flags.explain) {
      const planned = store.planQuery(query, c.scope);
      const client = await pool.connect();
      try {
        await client.query(`BEGIN READ ONLY; ${QUERY_SETTINGS}`);
        const plan = await client.query(
          `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${planned.sql}`,
          planned.params,
        );
        await client.query("COMMIT");
        console.log(plan.rows.map((r) => `    ${r["QUERY PLAN"]}`).join("\n"));
      } finally {
        client.release();
      }
    }
    console.log(
      `${c.name} (${source}): median ${median.toFixed(0)} ms over ${times.length} runs [${times.map((t) => t.toFixed(0)).join(", ")}]; server CPU ${cpuMs.toFixed(0)} ms/run; load ${load()}`,
    );
  }
  if (flags.json) writeFileSync(flags.json, JSON.stringify(figures, null, 2));
} finally {
  await store.close();
  await pool.end();
  await database.cleanup();
  await stopTestServer();
}
