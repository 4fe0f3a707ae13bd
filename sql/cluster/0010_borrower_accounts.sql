-- 0010 borrower accounts (issue 16), cluster variant of sql/migrations/0010_borrower_accounts.sql
-- (see its header for why and the layout). Sharded by borrower like accounts_current, so a
-- borrower's accounts live on one shard; the view hangs on the local table of each shard.
-- Backfill: ON CLUSTER DDL cannot copy rows, so a cluster that already holds data runs the
-- INSERT … SELECT of sql/migrations/0010_borrower_accounts.sql against the _local tables on every
-- shard, once, then OPTIMIZE … FINAL of borrower_accounts_local.
CREATE TABLE IF NOT EXISTS {database:Identifier}.borrower_accounts_local ON CLUSTER '{cluster}'
(
    borrower_key    FixedString(64) CODEC(ZSTD(1)),
    account         UInt64,
    version         UInt64,
    is_deleted      UInt8,
    member_code     LowCardinality(String),
    status          Enum8('' = 0, 'NORMAL' = 1, 'OVERDUE' = 2, 'CLOSED' = 3, 'SETTLED' = 4,
                          'WRITTEN_OFF' = 5, 'TRANSFERRED' = 6),
    opened_date     Date,
    credit_amount   Decimal(18, 2),
    balance         Decimal(18, 2),
    overdue_amount  Decimal(18, 2),
    dpd             UInt16
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/borrower_accounts', '{replica}', version, is_deleted)
ORDER BY (borrower_key, account);

CREATE TABLE IF NOT EXISTS {database:Identifier}.borrower_accounts ON CLUSTER '{cluster}'
(
    borrower_key    FixedString(64),
    account         UInt64,
    version         UInt64,
    is_deleted      UInt8,
    member_code     LowCardinality(String),
    status          Enum8('' = 0, 'NORMAL' = 1, 'OVERDUE' = 2, 'CLOSED' = 3, 'SETTLED' = 4,
                          'WRITTEN_OFF' = 5, 'TRANSFERRED' = 6),
    opened_date     Date,
    credit_amount   Decimal(18, 2),
    balance         Decimal(18, 2),
    overdue_amount  Decimal(18, 2),
    dpd             UInt16
)
ENGINE = Distributed('{cluster}', {database:String}, 'borrower_accounts_local', cityHash64(borrower_key));

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.borrower_accounts_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.borrower_accounts_local AS
SELECT
    borrower_key, sipHash64(member_code, account_id) AS account, version, is_deleted, member_code,
    status, opened_date, credit_amount, balance, overdue_amount, dpd
FROM {database:Identifier}.accounts_current_local;
