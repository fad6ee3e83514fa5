-- Flow store (issue #5). Flow records live in their own schema, outside Prisma's model: they are written
-- with COPY and read with SQL aggregates by packages/db/src/flows, and the Prisma-vs-database drift test
-- looks at the public schema only.
--
-- Both tables are partitioned first by plan (LIST) and then by UTC day (RANGE). Retention is per plan, so
-- a plan's old days are whole partitions that are dropped, never rows deleted. Partitions are created on
-- demand by the writer (the day of a batch and the next one ahead).
CREATE SCHEMA IF NOT EXISTS flows;

-- One row per flow record (CONTRACTS.md §1); endpoint fields of both ends as columns named like the query
-- dimensions (src_process_name, dst_workload_name, ...).
CREATE TABLE flows.records (
  plan_id uuid NOT NULL,
  device_id uuid NOT NULL,
  ts_start timestamptz NOT NULL,
  ts_end timestamptz NOT NULL,
  device text NOT NULL,
  vantage text NOT NULL,
  interface text NOT NULL,
  direction text NOT NULL,
  protocol smallint NOT NULL,
  src_addr inet NOT NULL,
  dst_addr inet NOT NULL,
  src_port integer NOT NULL,
  dst_port integer NOT NULL,
  bytes bigint NOT NULL,
  packets bigint NOT NULL,
  sample_rate integer NOT NULL,
  tcp_flags integer NOT NULL,
  retransmits bigint NOT NULL,
  rtt_us bigint,
  app_latency_ms double precision,
  src_pid integer,
  src_process_name text,
  src_process_cmdline text,
  src_container_id text,
  src_container_name text,
  src_node text,
  src_object_name text,
  src_object_namespace text,
  src_object_type text,
  src_workload_name text,
  src_workload_namespace text,
  src_object_labels jsonb,
  dst_pid integer,
  dst_process_name text,
  dst_process_cmdline text,
  dst_container_id text,
  dst_container_name text,
  dst_node text,
  dst_object_name text,
  dst_object_namespace text,
  dst_object_type text,
  dst_workload_name text,
  dst_workload_namespace text,
  dst_object_labels jsonb,
  cluster_id text
) PARTITION BY LIST (plan_id);

-- Per-minute sums over the low-cardinality dimensions (addresses, ports, pids, cmdlines and container ids
-- left out), so long-range volume queries read far fewer rows with identical results. dims_key is a hash
-- of the dimension values (computed by the writer), the upsert target: nullable columns cannot be one.
-- bytes and packets are already multiplied by the sample rate.
CREATE TABLE flows.rollup_1m (
  plan_id uuid NOT NULL,
  minute timestamptz NOT NULL,
  dims_key uuid NOT NULL,
  device text NOT NULL,
  vantage text NOT NULL,
  interface text NOT NULL,
  direction text NOT NULL,
  protocol smallint NOT NULL,
  cluster_id text,
  src_process_name text,
  src_container_name text,
  src_node text,
  src_object_name text,
  src_object_namespace text,
  src_object_type text,
  src_workload_name text,
  src_workload_namespace text,
  dst_process_name text,
  dst_container_name text,
  dst_node text,
  dst_object_name text,
  dst_object_namespace text,
  dst_object_type text,
  dst_workload_name text,
  dst_workload_namespace text,
  records bigint NOT NULL,
  bytes bigint NOT NULL,
  packets bigint NOT NULL,
  retransmits bigint NOT NULL,
  PRIMARY KEY (plan_id, minute, dims_key)
) PARTITION BY LIST (plan_id);

-- Batch idempotency: written in the same transaction as the batch's rows, so a retried batch is found
-- here (and not counted twice) exactly when its rows are stored.
CREATE TABLE flows.batches (
  batch_id uuid PRIMARY KEY,
  device_id uuid NOT NULL,
  plan_id uuid NOT NULL,
  records integer NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX batches_received_at_idx ON flows.batches (received_at);
