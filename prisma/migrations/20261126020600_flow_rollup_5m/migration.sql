-- A second rollup tier, per 5 minutes, for day-long and longer ranges (their buckets are multiples of 5
-- minutes): a fifth of the per-minute rows, same sums. Partitioned like the others (plan, then day);
-- `minute` is the start of the 5-minute slot.
CREATE TABLE flows.rollup_5m (
  plan_id uuid NOT NULL,
  minute timestamptz NOT NULL,
  dims_key uuid NOT NULL,
  records bigint NOT NULL,
  bytes bigint NOT NULL,
  packets bigint NOT NULL,
  retransmits bigint NOT NULL,
  PRIMARY KEY (plan_id, minute, dims_key)
) PARTITION BY LIST (plan_id);
-- Partitions come from the writer, like the others. Per-minute sums written before this migration (the
-- flow store is a day old when it lands) are not folded in.
