-- The flow store's content dictionaries (endpoint identities, rollup dimension values) are pruned after
-- retention drops the records and rollups that used them: each key carries the last UTC day a writer
-- confirmed it. Writers confirm a key at most once per day per process (their caches expire at midnight),
-- and records are never stored more than minutes ahead of their time, so every key a remaining day
-- partition uses was confirmed no earlier than the day before that partition's day
-- (packages/db/src/flows/retention.ts). Existing keys count as confirmed today.
ALTER TABLE flows.endpoints ADD COLUMN last_seen date NOT NULL DEFAULT ((now() AT TIME ZONE 'UTC')::date);
ALTER TABLE flows.rollup_dims ADD COLUMN last_seen date NOT NULL DEFAULT ((now() AT TIME ZONE 'UTC')::date);
