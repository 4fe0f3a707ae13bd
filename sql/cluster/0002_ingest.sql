-- 0002 ingest, cluster variant of sql/migrations/0002_ingest.sql: the same columns and keys on
-- the local (replicated) tables, the new columns on the Distributed tables over them.
-- Sharding keys are unchanged: rejections by (member_code, load_id), dq_daily by member_code, so
-- a replayed load's rows land on the shard of the first attempt and replace them there.

ALTER TABLE {database:Identifier}.rejections_local ON CLUSTER '{cluster}'
    ADD COLUMN IF NOT EXISTS issue UInt32,
    MODIFY ORDER BY (member_code, load_id, line, field, code, issue);

ALTER TABLE {database:Identifier}.rejections ON CLUSTER '{cluster}'
    ADD COLUMN IF NOT EXISTS issue UInt32;

ALTER TABLE {database:Identifier}.dq_daily_local ON CLUSTER '{cluster}'
    ADD COLUMN IF NOT EXISTS load_id String,
    MODIFY ORDER BY (member_code, day, dimension, field, load_id);

ALTER TABLE {database:Identifier}.dq_daily ON CLUSTER '{cluster}'
    ADD COLUMN IF NOT EXISTS load_id String;
