-- 0018 borrower_lookup's figures packed in one column (issue 16), cluster variant of
-- sql/migrations/0018_borrower_lookup_packed.sql (see its header for why, the measurements and the
-- payload's fields per kind). Rebuilt on every shard as 0014 rebuilt it: a new
-- borrower_lookup_next_local on its own Keeper path (borrower_lookup_0018: after the swap
-- borrower_lookup_local lives there) with a Distributed borrower_lookup_next over it; the copy is
-- ONE synchronous insert sent from the node migrate talks to, from the Distributed table to the
-- Distributed copy (both shard by cityHash64(borrower_key)) — the only statement without ON
-- CLUSTER; then EXCHANGE on every node, the old data dropped. The Distributed borrower_lookup is
-- created again with the new columns, and the three views that write to the local table, merged.
DROP VIEW IF EXISTS {database:Identifier}.borrower_lookup_accounts_mv ON CLUSTER '{cluster}';

DROP VIEW IF EXISTS {database:Identifier}.borrower_lookup_months_mv ON CLUSTER '{cluster}';

DROP VIEW IF EXISTS {database:Identifier}.borrower_lookup_counts_mv ON CLUSTER '{cluster}';

CREATE TABLE IF NOT EXISTS {database:Identifier}.borrower_lookup_next_local ON CLUSTER '{cluster}'
(
    borrower_key  FixedString(64) CODEC(ZSTD(1)),
    kind          Enum8('A' = 1, 'M' = 2, 'C' = 3),
    member_code   LowCardinality(String),
    account_id    String CODEC(ZSTD(1)),
    month         Date,
    version       UInt64 CODEC(ZSTD(1)),
    is_deleted    UInt8,
    as_of_date    Date,
    payload       String CODEC(ZSTD(1))
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/borrower_lookup_0018', '{replica}', version, is_deleted)
PARTITION BY if(kind = 'C', toYYYYMMDD(as_of_date), 0)
ORDER BY (borrower_key, kind, member_code, account_id, month)
SETTINGS index_granularity = 1024, min_bytes_for_wide_part = 1000000000000000,
    min_rows_for_wide_part = 1000000000000000;

CREATE TABLE IF NOT EXISTS {database:Identifier}.borrower_lookup_next ON CLUSTER '{cluster}'
(
    borrower_key  FixedString(64) CODEC(ZSTD(1)),
    kind          Enum8('A' = 1, 'M' = 2, 'C' = 3),
    member_code   LowCardinality(String),
    account_id    String CODEC(ZSTD(1)),
    month         Date,
    version       UInt64 CODEC(ZSTD(1)),
    is_deleted    UInt8,
    as_of_date    Date,
    payload       String CODEC(ZSTD(1))
)
ENGINE = Distributed('{cluster}', {database:String}, 'borrower_lookup_next_local', cityHash64(borrower_key));

INSERT INTO {database:Identifier}.borrower_lookup_next
SETTINGS insert_distributed_sync = 1, max_partitions_per_insert_block = 0
SELECT
    borrower_key, kind, member_code, account_id, month, version, is_deleted, as_of_date,
    multiIf(
        kind = 'A',
        concatWithSeparator('|', member_type, product, name_hash, toString(opened_date),
                            if(closed_date = toDate(0), '', toString(closed_date)),
                            toString(credit_amount), toString(balance), toString(overdue_amount),
                            toString(dpd), toString(status), toString(as_of_date)),
        kind = 'M',
        concatWithSeparator('|', toString(balance), toString(scheduled_amount),
                            toString(paid_amount), toString(dpd), toString(status)),
        concatWithSeparator('|', toString(inquiries), toString(toUnixTimestamp64Milli(first_at))))
FROM {database:Identifier}.borrower_lookup;

EXCHANGE TABLES {database:Identifier}.borrower_lookup_local AND {database:Identifier}.borrower_lookup_next_local ON CLUSTER '{cluster}';

-- (the old data in typed columns, the Distributed table over the copies and the one with the old
-- columns)
DROP TABLE IF EXISTS {database:Identifier}.borrower_lookup_next_local ON CLUSTER '{cluster}';

DROP TABLE IF EXISTS {database:Identifier}.borrower_lookup_next ON CLUSTER '{cluster}';

DROP TABLE IF EXISTS {database:Identifier}.borrower_lookup ON CLUSTER '{cluster}';

CREATE TABLE IF NOT EXISTS {database:Identifier}.borrower_lookup ON CLUSTER '{cluster}'
(
    borrower_key  FixedString(64) CODEC(ZSTD(1)),
    kind          Enum8('A' = 1, 'M' = 2, 'C' = 3),
    member_code   LowCardinality(String),
    account_id    String CODEC(ZSTD(1)),
    month         Date,
    version       UInt64 CODEC(ZSTD(1)),
    is_deleted    UInt8,
    as_of_date    Date,
    payload       String CODEC(ZSTD(1))
)
ENGINE = Distributed('{cluster}', {database:String}, 'borrower_lookup_local', cityHash64(borrower_key));

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.borrower_lookup_accounts_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.borrower_lookup_local AS
SELECT
    borrower_key, 'A' AS kind, member_code, account_id, toDate(0) AS month, version, is_deleted,
    as_of_date,
    concatWithSeparator('|', member_type, product, name_hash, toString(opened_date),
                        ifNull(toString(closed_date), ''), toString(credit_amount),
                        toString(balance), toString(overdue_amount), toString(dpd),
                        toString(status), toString(as_of_date)) AS payload
FROM {database:Identifier}.accounts_current_local;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.borrower_lookup_months_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.borrower_lookup_local AS
SELECT
    borrower_key, 'M' AS kind, member_code, account_id, month, version, is_deleted,
    concatWithSeparator('|', toString(balance), toString(scheduled_amount), toString(paid_amount),
                        toString(dpd), toString(status)) AS payload
FROM {database:Identifier}.account_months_local;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.borrower_lookup_counts_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.borrower_lookup_local AS
SELECT
    borrower_key, 'C' AS kind, member_code,
    concat(member_type, '|', product, '|', purpose, '|', toString(night), '|', source, '|',
           toString(toUnixTimestamp(slot))) AS account_id,
    day AS month, version, toUInt8(0) AS is_deleted, day AS as_of_date,
    concatWithSeparator('|', toString(inquiries), toString(toUnixTimestamp64Milli(first_at)))
        AS payload
FROM {database:Identifier}.inquiry_counts_local;

OPTIMIZE TABLE {database:Identifier}.borrower_lookup_local ON CLUSTER '{cluster}' FINAL;
