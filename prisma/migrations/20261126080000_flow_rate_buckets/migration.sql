-- The plan's flow-records-per-second limit as one token bucket per plan in the database, shared by every
-- console process (and the NATS ingest workers): with buckets in process memory, N processes let N times
-- the plan's rate through. One row update per batch (batches hold thousands of records), so the cost is a
-- fraction of a millisecond per batch.
CREATE TABLE flows.rate_buckets (
  plan_id uuid PRIMARY KEY REFERENCES public.plans (id) ON DELETE CASCADE,
  -- Records per second the bucket was last filled at; a changed plan rate restarts it (capped, not refilled).
  rate double precision NOT NULL,
  tokens double precision NOT NULL,
  at timestamptz NOT NULL
);

-- Takes p_count tokens from the plan's bucket (created full) if it holds enough, and returns 0; otherwise
-- takes nothing and returns the whole seconds to wait. A batch larger than the whole bucket passes when the
-- bucket is full and leaves it in debt, so an oversized batch is slowed, never refused forever. The row lock
-- serialises concurrent takers of one plan; p_now is the caller's clock (a late clock never runs time back).
CREATE FUNCTION flows.take_flow_tokens(
  p_plan uuid, p_rate double precision, p_burst_seconds double precision, p_count double precision,
  p_now timestamptz
) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
  capacity double precision := p_rate * p_burst_seconds;
  bucket flows.rate_buckets;
  available double precision;
  needed double precision := least(p_count, p_rate * p_burst_seconds);
BEGIN
  INSERT INTO flows.rate_buckets (plan_id, rate, tokens, at) VALUES (p_plan, p_rate, capacity, p_now)
    ON CONFLICT (plan_id) DO NOTHING;
  SELECT * INTO bucket FROM flows.rate_buckets WHERE plan_id = p_plan FOR UPDATE;
  IF bucket.rate <> p_rate THEN
    available := least(bucket.tokens, capacity);
  ELSE
    available := least(capacity,
      bucket.tokens + greatest(0, extract(epoch FROM p_now - bucket.at)::double precision) * p_rate);
  END IF;
  IF available >= needed THEN
    UPDATE flows.rate_buckets SET tokens = available - p_count, rate = p_rate, at = greatest(bucket.at, p_now)
     WHERE plan_id = p_plan;
    RETURN 0;
  END IF;
  UPDATE flows.rate_buckets SET tokens = available, rate = p_rate, at = greatest(bucket.at, p_now)
   WHERE plan_id = p_plan;
  RETURN greatest(1, ceil((needed - available) / p_rate));
END;
$$;
