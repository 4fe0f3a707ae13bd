-- 0007 lookup in one read (issue 16), cluster variant of sql/migrations/0007_lookup_one_read.sql
-- (the reasons and the layout of kind C rows are there): borrower_lookup also holds the inquiry
-- counts (kind C, copied from inquiry_counts_local by a view on each shard; inquiry_counts and
-- borrower_lookup share the sharding key, so a borrower's counts land on the shard of its other
-- rows), and its parts are compact.
-- Backfill: ON CLUSTER DDL cannot copy rows, so a cluster that already holds data runs the
-- INSERT … SELECT into borrower_lookup of sql/migrations/0007_lookup_one_read.sql against the
-- _local tables on every shard, once, then OPTIMIZE … FINAL of borrower_lookup_local (which also
-- rewrites its parts as compact ones).
ALTER TABLE {database:Identifier}.borrower_lookup_local ON CLUSTER '{cluster}'
    MODIFY COLUMN kind Enum8('A' = 1, 'M' = 2, 'C' = 3);

ALTER TABLE {database:Identifier}.borrower_lookup ON CLUSTER '{cluster}'
    MODIFY COLUMN kind Enum8('A' = 1, 'M' = 2, 'C' = 3);

ALTER TABLE {database:Identifier}.borrower_lookup_local ON CLUSTER '{cluster}'
    ADD COLUMN IF NOT EXISTS inquiries UInt32,
    ADD COLUMN IF NOT EXISTS first_at DateTime64(3, 'UTC');

ALTER TABLE {database:Identifier}.borrower_lookup ON CLUSTER '{cluster}'
    ADD COLUMN IF NOT EXISTS inquiries UInt32,
    ADD COLUMN IF NOT EXISTS first_at DateTime64(3, 'UTC');

ALTER TABLE {database:Identifier}.borrower_lookup_local ON CLUSTER '{cluster}'
    MODIFY SETTING min_bytes_for_wide_part = 1000000000000000, min_rows_for_wide_part = 1000000000000000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.borrower_lookup_counts_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.borrower_lookup_local AS
SELECT
    borrower_key, 'C' AS kind, member_code,
    concat(member_type, '|', product, '|', purpose, '|', toString(night), '|', source, '|',
           toString(toUnixTimestamp(slot))) AS account_id,
    day AS month, version, toUInt8(0) AS is_deleted, member_type, product, inquiries, first_at
FROM {database:Identifier}.inquiry_counts_local;
