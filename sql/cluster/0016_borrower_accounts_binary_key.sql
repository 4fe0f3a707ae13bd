-- 0016 borrower_accounts keyed by the binary digest (issue 16), cluster variant of
-- sql/migrations/0016_borrower_accounts_binary_key.sql (see its header for why and the
-- measurements). The same rebuild on the local tables of every shard, as 0013 rebuilds
-- borrower_lookup_local: a new borrower_accounts_next_local (its own Keeper path,
-- borrower_accounts_0016) with a Distributed borrower_accounts_next over it; the copy is ONE
-- synchronous insert sent from the node migrate talks to, from the Distributed table to the
-- Distributed copy — the only statement without ON CLUSTER; then EXCHANGE on every node, the old
-- data dropped. The Distributed borrower_accounts is created again with the binary key column.
-- Both Distributed tables shard by cityHash64(lower(hex(borrower_key))): the hash of the hex key
-- every other borrower table shards by, so a row lands on its borrower's shard again, where the
-- view on accounts_current_local (created again, converting the key) writes its later states.
DROP VIEW IF EXISTS {database:Identifier}.borrower_accounts_mv ON CLUSTER '{cluster}';

CREATE TABLE IF NOT EXISTS {database:Identifier}.borrower_accounts_next_local ON CLUSTER '{cluster}'
(
    borrower_key    FixedString(32),
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/borrower_accounts_0016', '{replica}', version, is_deleted)
ORDER BY (borrower_key, account);

CREATE TABLE IF NOT EXISTS {database:Identifier}.borrower_accounts_next ON CLUSTER '{cluster}'
(
    borrower_key    FixedString(32),
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
ENGINE = Distributed('{cluster}', {database:String}, 'borrower_accounts_next_local', cityHash64(lower(hex(borrower_key))));

INSERT INTO {database:Identifier}.borrower_accounts_next
SETTINGS insert_distributed_sync = 1
SELECT
    unhex(borrower_key), account, version, is_deleted, member_code, status, opened_date,
    credit_amount, balance, overdue_amount, dpd
FROM {database:Identifier}.borrower_accounts;

EXCHANGE TABLES {database:Identifier}.borrower_accounts_local AND {database:Identifier}.borrower_accounts_next_local ON CLUSTER '{cluster}';

-- (the old, hex-keyed data, the Distributed table over the copies and the one with the hex key)
DROP TABLE IF EXISTS {database:Identifier}.borrower_accounts_next_local ON CLUSTER '{cluster}';

DROP TABLE IF EXISTS {database:Identifier}.borrower_accounts_next ON CLUSTER '{cluster}';

DROP TABLE IF EXISTS {database:Identifier}.borrower_accounts ON CLUSTER '{cluster}';

CREATE TABLE IF NOT EXISTS {database:Identifier}.borrower_accounts ON CLUSTER '{cluster}'
(
    borrower_key    FixedString(32),
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
ENGINE = Distributed('{cluster}', {database:String}, 'borrower_accounts_local', cityHash64(lower(hex(borrower_key))));

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.borrower_accounts_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.borrower_accounts_local AS
SELECT
    unhex(borrower_key) AS borrower_key, sipHash64(member_code, account_id) AS account, version,
    is_deleted, member_code, status, opened_date, credit_amount, balance, overdue_amount, dpd
FROM {database:Identifier}.accounts_current_local;

OPTIMIZE TABLE {database:Identifier}.borrower_accounts_local ON CLUSTER '{cluster}' FINAL;
