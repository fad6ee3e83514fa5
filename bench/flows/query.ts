/**
 * Flow query latency over a full day: N flow records (default 50M) generated with SQL generate_series
 * straight into one day partition (as a fleet of 10 nodes would have shipped them), the per-minute rollup
 * built from them exactly as the writer builds it, then the engine's queries timed (median of runs).
 *
 *   npm run bench:flows:query -w @kernflow/bench -- [--records 50000000] [--runs 5] [--raw] [--json FILE]
 *
 * `--raw` also times the day-long top-10 forced onto raw records (slow by design: it is why rollups exist).
 * Runs on a private embedded PostgreSQL in a temporary folder (removed at the end).
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createFlowStore, dayPartitionName, type FlowQueryScope, rollupDimensions } from "@kernflow/db";
import { createTestDatabase, stopTestServer } from "@kernflow/db/testing";
import { type FlowQueryInput, flowQuerySchema } from "@kernflow/protocol";
import pg from "pg";
import { z } from "zod";
import { benchRecords } from "./records";

const flags = z
  .object({
    records: z.coerce.number().int().min(10_000).max(200_000_000),
    runs: z.coerce.number().int().min(1).max(50),
    raw: z.boolean(),
    json: z.string().min(1).optional(),
  })
  .parse(
    parseArgs({
      options: {
        records: { type: "string", default: "50000000" },
        runs: { type: "string", default: "5" },
        raw: { type: "boolean", default: false },
        json: { type: "string" },
      },
    }).values,
  );

const DAY = 86_400_000;
const database = await createTestDatabase();
const pool = new pg.Pool({ connectionString: database.url, max: 2 });
const store = createFlowStore(database.url);
const figures: Record<string, number> = {};
try {
  const dayStart = Math.floor(Date.now() / DAY) * DAY - DAY;
  const plan = await database.prisma.plan.create({
    data: { name: "bench", maxDevices: 100, maxFlowsPerSecond: 1_000_000, retentionDays: 30 },
  });
  const device = await database.prisma.device.create({ data: { name: "node-0", planId: plan.id } });
  // One real batch through the writer creates the day's partitions (and shows the rollup's shape).
  await store.writeBatch(
    device.id,
    plan.id,
    crypto.randomUUID(),
    benchRecords(10, "node-0", dayStart, 60_000),
  );
  const raw = `flows."${dayPartitionName("records", plan.id, dayStart)}"`;
  const rollup = `flows."${dayPartitionName("rollup_1m", plan.id, dayStart)}"`;

  const rollup5 = `flows."${dayPartitionName("rollup_5m", plan.id, dayStart)}"`;
  // Only the partitions were wanted: start from empty tables.
  await pool.query(`TRUNCATE ${raw}, ${rollup}, ${rollup5}`);

  let started = performance.now();
  const chunk = 5_000_000;
  for (let done = 0; done < flags.records; done += chunk) {
    const n = Math.min(chunk, flags.records - done);
    // 10 nodes, 4 pods of 8 services per node, each record one direction of a pod talking to a service:
    // (vantage src, egress) for the request side, (vantage dst, ingress) for the reply.
    await pool.query(`SET synchronous_commit = off`);
    await pool.query(
      `INSERT INTO ${raw} (plan_id, device_id, ts_start, ts_end, device, vantage, interface, direction, protocol,
         src_addr, dst_addr, src_port, dst_port, bytes, packets, sample_rate, tcp_flags, retransmits, rtt_us,
         app_latency_ms, src_process_name, src_container_name, src_node, src_object_name, src_object_namespace,
         src_object_type, src_workload_name, src_workload_namespace, dst_process_name, dst_container_name, dst_node,
         dst_object_name, dst_object_namespace, dst_object_type, dst_workload_name, dst_workload_namespace, cluster_id)
       SELECT $1::uuid, $2::uuid, ts, ts + interval '9 seconds', 'node-' || node, CASE WHEN req THEN 'src' ELSE 'dst' END,
         'eth0', CASE WHEN req THEN 'egress' ELSE 'ingress' END, CASE WHEN g % 10 = 0 THEN 17 ELSE 6 END,
         ('10.' || node || '.' || (g % 250) || '.' || (g % 7 + 1))::inet, ('10.9.' || svc || '.' || (g % 13 + 1))::inet,
         32768 + g % 28000, CASE WHEN svc % 2 = 0 THEN 443 ELSE 8080 END,
         (g % 500 + 1) * (60 + g % 1400), g % 500 + 1, 1, 24, (g % 17 = 0)::int, 200 + g % 20000,
         CASE WHEN g % 2 = 0 THEN (g % 200000) / 1000.0 END,
         CASE WHEN req THEN local ELSE remote END, CASE WHEN req THEN local ELSE remote END,
         CASE WHEN req THEN 'node-' || node END, CASE WHEN req THEN local || '-' || node ELSE remote END, 'shop',
         CASE WHEN req THEN 'pod' ELSE 'service' END, CASE WHEN req THEN local ELSE remote END, 'shop',
         CASE WHEN req THEN remote ELSE local END, CASE WHEN req THEN remote ELSE local END,
         CASE WHEN req THEN NULL ELSE 'node-' || node END, CASE WHEN req THEN remote ELSE local || '-' || node END, 'shop',
         CASE WHEN req THEN 'service' ELSE 'pod' END, CASE WHEN req THEN remote ELSE local END, 'shop', 'prod'
       FROM (
         SELECT g, $3::timestamptz + (g::float8 / $4) * interval '1 day' AS ts, g % 10 AS node, (g / 10) % 2 = 0 AS req,
                (ARRAY['checkout','payments','catalog','search','cart','auth','ledger','mailer'])[((g / 20) % 4 + (g % 10) * 3) % 8 + 1] AS local,
                (ARRAY['checkout','payments','catalog','search','cart','auth','ledger','mailer'])[(g / 80) % 8 + 1] AS remote,
                (g / 80) % 8 AS svc
           FROM generate_series($5::bigint, $6::bigint) AS g
       ) s`,
      [plan.id, device.id, new Date(dayStart).toISOString(), flags.records, done, done + n - 1],
    );
    console.log(`generated ${done + n} records (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  figures.generate_seconds = (performance.now() - started) / 1000;

  started = performance.now();
  const dims = rollupDimensions.join(", ");
  await pool.query(`SET work_mem = '512MB'`);
  // The same rows the writer upserts: each distinct dimension combination once in rollup_dims, and the
  // sums per minute and combination (its dims_key is any stable hash of the values).
  const key = `md5(json_build_array(${dims})::text)::uuid`;
  await pool.query(
    `INSERT INTO flows.rollup_dims (dims_key, ${dims})
     SELECT DISTINCT ON (k) k, ${dims} FROM (SELECT ${key} AS k, ${dims} FROM ${raw}) s ORDER BY k
     ON CONFLICT (dims_key) DO NOTHING`,
  );
  await pool.query(
    `INSERT INTO ${rollup} (plan_id, minute, dims_key, records, bytes, packets, retransmits)
     SELECT plan_id, date_trunc('minute', ts_start), ${key}, count(*), sum(bytes * sample_rate),
            sum(packets * sample_rate), sum(retransmits)
       FROM ${raw} GROUP BY plan_id, date_trunc('minute', ts_start), ${key}`,
  );
  await pool.query(
    `INSERT INTO ${rollup5} (plan_id, minute, dims_key, records, bytes, packets, retransmits)
     SELECT plan_id, to_timestamp(floor(date_part('epoch', minute) / 300) * 300) AS slot, dims_key,
            sum(records), sum(bytes), sum(packets), sum(retransmits)
       FROM ${rollup} GROUP BY plan_id, slot, dims_key`,
  );
  await pool.query(`VACUUM ANALYZE ${rollup5}`);
  await pool.query(`VACUUM ANALYZE ${raw}`);
  await pool.query(`VACUUM ANALYZE ${rollup}`);
  await pool.query(`VACUUM ANALYZE flows.rollup_dims`);
  figures.rollup_build_seconds = (performance.now() - started) / 1000;
  const sizes = await pool.query<{
    raw: string;
    rollup: string;
    rollup5: string;
    raw_size: string;
    rollup_size: string;
  }>(
    `SELECT (SELECT count(*) FROM ${raw}) AS raw, (SELECT count(*) FROM ${rollup}) AS rollup,
            (SELECT count(*) FROM ${rollup5}) AS rollup5,
            pg_size_pretty(pg_total_relation_size('${raw}')) AS raw_size,
            pg_size_pretty(pg_total_relation_size('${rollup}')) AS rollup_size`,
  );
  const s = sizes.rows[0];
  console.log(
    `raw: ${s?.raw} rows (${s?.raw_size}); rollup per minute: ${s?.rollup} rows (${s?.rollup_size}); per 5 minutes: ${s?.rollup5} rows`,
  );
  figures.rollup_5m_rows = Number(s?.rollup5);
  figures.raw_rows = Number(s?.raw);
  figures.rollup_rows = Number(s?.rollup);

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
    for (let i = 0; i < (c.once ? 1 : flags.runs); i++) {
      const t0 = performance.now();
      const result = await store.query(query, c.scope);
      times.push(performance.now() - t0);
      if (result.series.length === 0) throw new Error(`${c.name} returned no series`);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] as number;
    figures[`${c.name}_ms`] = median;
    console.log(`${c.name} (${source}): median ${median.toFixed(0)} ms over ${times.length} runs`);
  }
  if (flags.json) writeFileSync(flags.json, JSON.stringify(figures, null, 2));
} finally {
  await store.close();
  await pool.end();
  await database.cleanup();
  await stopTestServer();
}
