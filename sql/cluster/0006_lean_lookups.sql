-- 0006 lean lookups, cluster variant of sql/migrations/0006_lean_lookups.sql (see its header for
-- the layout of borrower_lookup and inquiry_counts and why lookup_rows goes).
-- Both tables are sharded by borrower like the tables they come from, so a lookup reads one
-- shard (optimize_skip_unused_shards); the views hang on the local tables of each shard.
-- Backfill: ON CLUSTER DDL cannot copy rows, so a cluster that already holds data runs the two
-- INSERT … SELECT statements into borrower_lookup and the one into inquiry_counts of
-- sql/migrations/0006_lean_lookups.sql against the _local tables on every shard, once, then
-- OPTIMIZE … FINAL of both, before it drops lookup_rows.
CREATE TABLE IF NOT EXISTS {database:Identifier}.borrower_lookup_local ON CLUSTER '{cluster}'
(
    borrower_key      FixedString(64),
    kind              Enum8('A' = 1, 'M' = 2),
    member_code       LowCardinality(String),
    account_id        String,
    month             Date,
    version           UInt64,
    is_deleted        UInt8,
    member_type       LowCardinality(String),
    product           LowCardinality(String),
    name_hash         String,
    opened_date       Date,
    closed_date       Date,
    credit_amount     Decimal(18, 2),
    balance           Decimal(18, 2),
    overdue_amount    Decimal(18, 2),
    scheduled_amount  Decimal(18, 2),
    paid_amount       Decimal(18, 2),
    dpd               UInt16,
    status            Enum8('' = 0, 'NORMAL' = 1, 'OVERDUE' = 2, 'CLOSED' = 3, 'SETTLED' = 4,
                            'WRITTEN_OFF' = 5, 'TRANSFERRED' = 6),
    as_of_date        Date
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/borrower_lookup', '{replica}', version, is_deleted)
ORDER BY (borrower_key, kind, member_code, account_id, month)
SETTINGS index_granularity = 1024;

CREATE TABLE IF NOT EXISTS {database:Identifier}.borrower_lookup ON CLUSTER '{cluster}'
(
    borrower_key      FixedString(64),
    kind              Enum8('A' = 1, 'M' = 2),
    member_code       LowCardinality(String),
    account_id        String,
    month             Date,
    version           UInt64,
    is_deleted        UInt8,
    member_type       LowCardinality(String),
    product           LowCardinality(String),
    name_hash         String,
    opened_date       Date,
    closed_date       Date,
    credit_amount     Decimal(18, 2),
    balance           Decimal(18, 2),
    overdue_amount    Decimal(18, 2),
    scheduled_amount  Decimal(18, 2),
    paid_amount       Decimal(18, 2),
    dpd               UInt16,
    status            Enum8('' = 0, 'NORMAL' = 1, 'OVERDUE' = 2, 'CLOSED' = 3, 'SETTLED' = 4,
                            'WRITTEN_OFF' = 5, 'TRANSFERRED' = 6),
    as_of_date        Date
)
ENGINE = Distributed('{cluster}', {database:String}, 'borrower_lookup_local', cityHash64(borrower_key));

DROP VIEW IF EXISTS {database:Identifier}.lookup_accounts_mv ON CLUSTER '{cluster}';

DROP VIEW IF EXISTS {database:Identifier}.lookup_months_mv ON CLUSTER '{cluster}';

DROP VIEW IF EXISTS {database:Identifier}.lookup_inquiries_mv ON CLUSTER '{cluster}';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.borrower_lookup_accounts_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.borrower_lookup_local AS
SELECT
    borrower_key, 'A' AS kind, member_code, account_id, toDate(0) AS month, version, is_deleted,
    member_type, product, name_hash, opened_date, ifNull(closed_date, toDate(0)) AS closed_date,
    credit_amount, balance, overdue_amount, dpd, status, as_of_date
FROM {database:Identifier}.accounts_current_local;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.borrower_lookup_months_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.borrower_lookup_local AS
SELECT
    borrower_key, 'M' AS kind, member_code, account_id, month, version, is_deleted, balance,
    scheduled_amount, paid_amount, dpd, status
FROM {database:Identifier}.account_months_local;

DROP TABLE IF EXISTS {database:Identifier}.lookup_rows ON CLUSTER '{cluster}';

DROP TABLE IF EXISTS {database:Identifier}.lookup_rows_local ON CLUSTER '{cluster}';

CREATE TABLE IF NOT EXISTS {database:Identifier}.inquiry_counts_local ON CLUSTER '{cluster}'
(
    borrower_key  FixedString(64),
    day           Date,
    member_code   LowCardinality(String),
    member_type   LowCardinality(String),
    product       LowCardinality(String),
    purpose       LowCardinality(String),
    night         UInt8,
    source        String,
    slot          DateTime('UTC'),
    inquiries     UInt32,
    first_at      DateTime64(3, 'UTC'),
    version       UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/inquiry_counts', '{replica}', version)
ORDER BY (borrower_key, day, member_code, member_type, product, purpose, night, source, slot)
SETTINGS index_granularity = 1024;

CREATE TABLE IF NOT EXISTS {database:Identifier}.inquiry_counts ON CLUSTER '{cluster}'
(
    borrower_key  FixedString(64),
    day           Date,
    member_code   LowCardinality(String),
    member_type   LowCardinality(String),
    product       LowCardinality(String),
    purpose       LowCardinality(String),
    night         UInt8,
    source        String,
    slot          DateTime('UTC'),
    inquiries     UInt32,
    first_at      DateTime64(3, 'UTC'),
    version       UInt64
)
ENGINE = Distributed('{cluster}', {database:String}, 'inquiry_counts_local', cityHash64(borrower_key));
