-- 0014 borrower_lookup's inquiry counts partitioned by day, with an archive partition (issue 16),
-- cluster variant of sql/migrations/0014_borrower_lookup_counts_by_day.sql (see its header for
-- why and the layout). Rebuilt on every shard as 0013 rebuilt it: a new
-- borrower_lookup_next_local on its own Keeper path (borrower_lookup_0014: after the swap
-- borrower_lookup_local lives there) with a Distributed borrower_lookup_next over it; the copy is
-- ONE synchronous insert sent from the node migrate talks to, from the Distributed table to the
-- Distributed copy (both shard by cityHash64(borrower_key)), every count into the archive
-- (as_of_date 1970-01-01) — the only statement without ON CLUSTER; then EXCHANGE on every node,
-- the old data dropped, the three views that write to the table created again (the counts' view
-- now sets as_of_date = day), merged.
DROP VIEW IF EXISTS {database:Identifier}.borrower_lookup_accounts_mv ON CLUSTER '{cluster}';

DROP VIEW IF EXISTS {database:Identifier}.borrower_lookup_months_mv ON CLUSTER '{cluster}';

DROP VIEW IF EXISTS {database:Identifier}.borrower_lookup_counts_mv ON CLUSTER '{cluster}';

CREATE TABLE IF NOT EXISTS {database:Identifier}.borrower_lookup_next_local ON CLUSTER '{cluster}'
(
    borrower_key      FixedString(64) CODEC(ZSTD(1)),
    kind              Enum8('A' = 1, 'M' = 2, 'C' = 3),
    member_code       LowCardinality(String),
    account_id        String CODEC(ZSTD(1)),
    month             Date,
    version           UInt64 CODEC(ZSTD(1)),
    is_deleted        UInt8,
    member_type       LowCardinality(String),
    product           LowCardinality(String),
    name_hash         String CODEC(ZSTD(1)),
    opened_date       Date,
    closed_date       Date,
    credit_amount     Decimal(18, 2),
    balance           Decimal(18, 2) CODEC(ZSTD(1)),
    overdue_amount    Decimal(18, 2),
    scheduled_amount  Decimal(18, 2) CODEC(ZSTD(1)),
    paid_amount       Decimal(18, 2) CODEC(ZSTD(1)),
    dpd               UInt16,
    status            Enum8('' = 0, 'NORMAL' = 1, 'OVERDUE' = 2, 'CLOSED' = 3, 'SETTLED' = 4,
                            'WRITTEN_OFF' = 5, 'TRANSFERRED' = 6),
    as_of_date        Date,
    inquiries         UInt32,
    first_at          DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/borrower_lookup_0014', '{replica}', version, is_deleted)
PARTITION BY if(kind = 'C', toYYYYMMDD(as_of_date), 0)
ORDER BY (borrower_key, kind, member_code, account_id, month)
SETTINGS index_granularity = 1024, min_bytes_for_wide_part = 1000000000000000,
    min_rows_for_wide_part = 1000000000000000;

CREATE TABLE IF NOT EXISTS {database:Identifier}.borrower_lookup_next ON CLUSTER '{cluster}'
(
    borrower_key      FixedString(64) CODEC(ZSTD(1)),
    kind              Enum8('A' = 1, 'M' = 2, 'C' = 3),
    member_code       LowCardinality(String),
    account_id        String CODEC(ZSTD(1)),
    month             Date,
    version           UInt64 CODEC(ZSTD(1)),
    is_deleted        UInt8,
    member_type       LowCardinality(String),
    product           LowCardinality(String),
    name_hash         String CODEC(ZSTD(1)),
    opened_date       Date,
    closed_date       Date,
    credit_amount     Decimal(18, 2),
    balance           Decimal(18, 2) CODEC(ZSTD(1)),
    overdue_amount    Decimal(18, 2),
    scheduled_amount  Decimal(18, 2) CODEC(ZSTD(1)),
    paid_amount       Decimal(18, 2) CODEC(ZSTD(1)),
    dpd               UInt16,
    status            Enum8('' = 0, 'NORMAL' = 1, 'OVERDUE' = 2, 'CLOSED' = 3, 'SETTLED' = 4,
                            'WRITTEN_OFF' = 5, 'TRANSFERRED' = 6),
    as_of_date        Date,
    inquiries         UInt32,
    first_at          DateTime64(3, 'UTC')
)
ENGINE = Distributed('{cluster}', {database:String}, 'borrower_lookup_next_local', cityHash64(borrower_key));

INSERT INTO {database:Identifier}.borrower_lookup_next
SETTINGS insert_distributed_sync = 1
SELECT * REPLACE (if(kind = 'C', toDate(0), as_of_date) AS as_of_date)
FROM {database:Identifier}.borrower_lookup;

EXCHANGE TABLES {database:Identifier}.borrower_lookup_local AND {database:Identifier}.borrower_lookup_next_local ON CLUSTER '{cluster}';

-- (the old data, partitioned by kind = 'C', and the Distributed table over the copies)
DROP TABLE IF EXISTS {database:Identifier}.borrower_lookup_next_local ON CLUSTER '{cluster}';

DROP TABLE IF EXISTS {database:Identifier}.borrower_lookup_next ON CLUSTER '{cluster}';

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

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.borrower_lookup_counts_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.borrower_lookup_local AS
SELECT
    borrower_key, 'C' AS kind, member_code,
    concat(member_type, '|', product, '|', purpose, '|', toString(night), '|', source, '|',
           toString(toUnixTimestamp(slot))) AS account_id,
    day AS month, version, toUInt8(0) AS is_deleted, member_type, product, day AS as_of_date,
    inquiries, first_at
FROM {database:Identifier}.inquiry_counts_local;

OPTIMIZE TABLE {database:Identifier}.borrower_lookup_local ON CLUSTER '{cluster}' FINAL;
