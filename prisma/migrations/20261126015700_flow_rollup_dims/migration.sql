-- The per-minute rollup keeps only keys and sums; the dimension values of each key live once in
-- flows.rollup_dims. A day of rollup rows is then a narrow table (a fifth of the width), so a 24-hour query
-- reads far less, and joins the few distinct dimension combinations (filtered first) by hash.
CREATE TABLE flows.rollup_dims (
  dims_key uuid PRIMARY KEY,
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
  dst_workload_namespace text
);

-- Rows written before this migration keep their dimension values.
INSERT INTO flows.rollup_dims (dims_key, device, vantage, interface, direction, protocol, cluster_id, src_process_name, src_container_name, src_node, src_object_name, src_object_namespace, src_object_type, src_workload_name, src_workload_namespace, dst_process_name, dst_container_name, dst_node, dst_object_name, dst_object_namespace, dst_object_type, dst_workload_name, dst_workload_namespace)
SELECT DISTINCT ON (dims_key) dims_key, device, vantage, interface, direction, protocol, cluster_id, src_process_name, src_container_name, src_node, src_object_name, src_object_namespace, src_object_type, src_workload_name, src_workload_namespace, dst_process_name, dst_container_name, dst_node, dst_object_name, dst_object_namespace, dst_object_type, dst_workload_name, dst_workload_namespace FROM flows.rollup_1m ORDER BY dims_key;

ALTER TABLE flows.rollup_1m
  DROP COLUMN device,
  DROP COLUMN vantage,
  DROP COLUMN interface,
  DROP COLUMN direction,
  DROP COLUMN protocol,
  DROP COLUMN cluster_id,
  DROP COLUMN src_process_name,
  DROP COLUMN src_container_name,
  DROP COLUMN src_node,
  DROP COLUMN src_object_name,
  DROP COLUMN src_object_namespace,
  DROP COLUMN src_object_type,
  DROP COLUMN src_workload_name,
  DROP COLUMN src_workload_namespace,
  DROP COLUMN dst_process_name,
  DROP COLUMN dst_container_name,
  DROP COLUMN dst_node,
  DROP COLUMN dst_object_name,
  DROP COLUMN dst_object_namespace,
  DROP COLUMN dst_object_type,
  DROP COLUMN dst_workload_name,
  DROP COLUMN dst_workload_namespace;
