-- 0005 DQ corrections, cluster variant of sql/migrations/0005_dq_corrections.sql: the new columns
-- on the local (replicated) table and on the Distributed table over it; keys are unchanged.

ALTER TABLE {database:Identifier}.rejections_local ON CLUSTER '{cluster}'
    ADD COLUMN IF NOT EXISTS as_of_date Nullable(Date),
    ADD COLUMN IF NOT EXISTS load_seq UInt64;

ALTER TABLE {database:Identifier}.rejections ON CLUSTER '{cluster}'
    ADD COLUMN IF NOT EXISTS as_of_date Nullable(Date),
    ADD COLUMN IF NOT EXISTS load_seq UInt64;
