-- 0004 report aggregates, cluster variant of sql/migrations/0004_report_aggregates.sql (see its
-- header for what the table holds and how a release reads it).
-- Sharded by member: the rows are member-level partial sums (a few thousand per month); a
-- release reads them all through the Distributed table and adds them up. The queries that fill
-- it read account_months, which is sharded by borrower, so every per-borrower and per-account
-- grouping they do stays on one shard.
CREATE TABLE IF NOT EXISTS {database:Identifier}.report_aggregates_local ON CLUSTER '{cluster}'
(
    month         Date,                         -- the month the figures belong to (first day)
    kind          LowCardinality(String),
    generation    String,                       -- one computation of (month, kind)
    is_stamp      UInt8,                        -- 1: the stamp row of the generation
    fingerprint   String,                       -- stamp: the data the generation was built from
    member_code   LowCardinality(String),
    key1          LowCardinality(String),
    key2          LowCardinality(String),
    key3          LowCardinality(String),
    borrowers     UInt64,
    accounts      UInt64,
    balance       Decimal(38, 2),
    accounts_30   UInt64,
    balance_30    Decimal(38, 2),
    accounts_90   UInt64,
    balance_90    Decimal(38, 2),
    balance_fen   UInt64,
    members       UInt64,
    as_of         Date,
    computed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/report_aggregates', '{replica}')
ORDER BY (month, kind, generation, is_stamp, member_code, key1, key2, key3);

CREATE TABLE IF NOT EXISTS {database:Identifier}.report_aggregates ON CLUSTER '{cluster}'
(
    month         Date,
    kind          LowCardinality(String),
    generation    String,
    is_stamp      UInt8,
    fingerprint   String,
    member_code   LowCardinality(String),
    key1          LowCardinality(String),
    key2          LowCardinality(String),
    key3          LowCardinality(String),
    borrowers     UInt64,
    accounts      UInt64,
    balance       Decimal(38, 2),
    accounts_30   UInt64,
    balance_30    Decimal(38, 2),
    accounts_90   UInt64,
    balance_90    Decimal(38, 2),
    balance_fen   UInt64,
    members       UInt64,
    as_of         Date,
    computed_at   DateTime64(3, 'UTC')
)
ENGINE = Distributed('{cluster}', {database:String}, 'report_aggregates_local', cityHash64(member_code));

-- report_account_events: sharded by account, so every row of one account sits on one shard.
-- report_vintage_month reads it as a subquery of a query on account_months (sharded by
-- borrower): on a cluster that subquery must be GLOBAL (set distributed_product_mode = 'global'
-- for the reporting user) so each shard sees every account's events.
CREATE TABLE IF NOT EXISTS {database:Identifier}.report_account_events_local ON CLUSTER '{cluster}'
(
    month          Date,
    generation     String,
    event          LowCardinality(String),
    member_code    LowCardinality(String),
    key1           UInt64,                      -- cityHash64(member_code, account_id)
    key2           UInt64,                      -- xxHash64(member_code, account_id)
    d30            UInt8,
    d90            UInt8,
    opened_date    Date,
    credit_amount  Decimal(18, 2)
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/report_account_events', '{replica}')
ORDER BY (event, month, generation, key1, key2);

CREATE TABLE IF NOT EXISTS {database:Identifier}.report_account_events ON CLUSTER '{cluster}'
(
    month          Date,
    generation     String,
    event          LowCardinality(String),
    member_code    LowCardinality(String),
    key1           UInt64,
    key2           UInt64,
    d30            UInt8,
    d90            UInt8,
    opened_date    Date,
    credit_amount  Decimal(18, 2)
)
ENGINE = Distributed('{cluster}', {database:String}, 'report_account_events_local', cityHash64(member_code, key1));
