-- 0012 loan_states in yearly partitions (issue 16), cluster variant of
-- sql/migrations/0012_loan_states_yearly.sql (see its header: an account's states in one part, so
-- its digests repeat and compress; no reader prunes loan_states by month).
--
-- The same rebuild on the local tables of every shard: a new loan_states_next_local (the columns
-- and codecs of loan_states_local after 0009; its own Keeper path, loan_states_0012: after the swap loan_states_local lives there; a later rebuild
-- takes another path) with a Distributed loan_states_next over it; the copy is ONE insert from
-- the node migrate talks to, through the two Distributed tables (rows go back to the shard of
-- their borrower key, the same shard; synchronous, so every row is on its shard before the
-- swap); then EXCHANGE TABLES on every node, the old data and the scratch Distributed table
-- dropped, the two views on loan_states_local created again, and the table merged. The copy is
-- the only statement without ON CLUSTER (an INSERT runs where it is sent). Kill-safe as the
-- single-node file (warehouse.migrations), for the client's side: a kill of migrate does not stop
-- distributed DDL already queued on the servers, which completes there.
DROP VIEW IF EXISTS {database:Identifier}.accounts_current_mv ON CLUSTER '{cluster}';

DROP VIEW IF EXISTS {database:Identifier}.account_months_mv ON CLUSTER '{cluster}';

CREATE TABLE IF NOT EXISTS {database:Identifier}.loan_states_next_local ON CLUSTER '{cluster}'
(
    member_code           LowCardinality(String),
    member_type           LowCardinality(String),
    account_id            String CODEC(ZSTD(1)),
    as_of_date            Date,
    record_type           LowCardinality(String),
    borrower_key          FixedString(64) CODEC(ZSTD(1)),
    name_hash             String CODEC(ZSTD(1)),
    mobile_hash           String CODEC(ZSTD(1)),
    id_type               LowCardinality(String),
    province              LowCardinality(String),
    birth_year            UInt16 CODEC(ZSTD(1)),
    product               LowCardinality(String),
    guarantee             LowCardinality(String),
    opened_date           Date CODEC(ZSTD(1)),
    maturity_date         Nullable(Date) CODEC(ZSTD(1)),
    currency              LowCardinality(String),
    credit_amount         Decimal(18, 2) CODEC(ZSTD(1)),
    installments          UInt16 CODEC(ZSTD(1)),
    frequency             LowCardinality(String),
    balance               Decimal(18, 2) CODEC(ZSTD(1)),
    scheduled_amount      Decimal(18, 2) CODEC(ZSTD(1)),
    paid_amount           Decimal(18, 2) CODEC(ZSTD(1)),
    overdue_amount        Decimal(18, 2) CODEC(ZSTD(1)),
    overdue_principal     Decimal(18, 2) CODEC(ZSTD(1)),
    dpd                   UInt16 CODEC(ZSTD(1)),
    overdue_installments  UInt16 CODEC(ZSTD(1)),
    status                LowCardinality(String),
    closed_date           Nullable(Date) CODEC(ZSTD(1)),
    five_class            UInt8 CODEC(ZSTD(1)),
    consent_ref           String CODEC(ZSTD(1)),
    negative_notice_date  Nullable(Date) CODEC(ZSTD(1)),
    load_id               String CODEC(ZSTD(1)),
    load_seq              UInt64,
    line                  UInt32 CODEC(Delta, ZSTD(1)),
    flags                 Array(LowCardinality(String)) CODEC(ZSTD(1)),
    loaded_at             DateTime64(3, 'UTC') CODEC(ZSTD(1)),
    version               UInt64 MATERIALIZED bitOr(bitShiftLeft(toUInt64(toUInt16(as_of_date)), 40), load_seq)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/loan_states_0012', '{replica}', version)
PARTITION BY toYear(as_of_date)
ORDER BY (member_code, account_id, as_of_date);

CREATE TABLE IF NOT EXISTS {database:Identifier}.loan_states_next ON CLUSTER '{cluster}'
(
    member_code           LowCardinality(String),
    member_type           LowCardinality(String),
    account_id            String,
    as_of_date            Date,
    record_type           LowCardinality(String),
    borrower_key          FixedString(64),
    name_hash             String,
    mobile_hash           String,
    id_type               LowCardinality(String),
    province              LowCardinality(String),
    birth_year            UInt16,
    product               LowCardinality(String),
    guarantee             LowCardinality(String),
    opened_date           Date,
    maturity_date         Nullable(Date),
    currency              LowCardinality(String),
    credit_amount         Decimal(18, 2),
    installments          UInt16,
    frequency             LowCardinality(String),
    balance               Decimal(18, 2),
    scheduled_amount      Decimal(18, 2),
    paid_amount           Decimal(18, 2),
    overdue_amount        Decimal(18, 2),
    overdue_principal     Decimal(18, 2),
    dpd                   UInt16,
    overdue_installments  UInt16,
    status                LowCardinality(String),
    closed_date           Nullable(Date),
    five_class            UInt8,
    consent_ref           String,
    negative_notice_date  Nullable(Date),
    load_id               String,
    load_seq              UInt64,
    line                  UInt32,
    flags                 Array(LowCardinality(String)),
    loaded_at             DateTime64(3, 'UTC'),
    version               UInt64 MATERIALIZED bitOr(bitShiftLeft(toUInt64(toUInt16(as_of_date)), 40), load_seq)
)
ENGINE = Distributed('{cluster}', {database:String}, 'loan_states_next_local', cityHash64(borrower_key));

INSERT INTO {database:Identifier}.loan_states_next
SETTINGS insert_distributed_sync = 1
SELECT * FROM {database:Identifier}.loan_states;

EXCHANGE TABLES {database:Identifier}.loan_states_local AND {database:Identifier}.loan_states_next_local ON CLUSTER '{cluster}';

-- (the old, monthly-partitioned data, and the scratch Distributed table)
DROP TABLE IF EXISTS {database:Identifier}.loan_states_next_local ON CLUSTER '{cluster}';

DROP TABLE IF EXISTS {database:Identifier}.loan_states_next ON CLUSTER '{cluster}';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.accounts_current_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.accounts_current_local AS
SELECT
    borrower_key, member_code, account_id, member_type, name_hash, id_type, province, birth_year,
    product, guarantee, opened_date, maturity_date, currency, credit_amount, installments, balance,
    scheduled_amount, paid_amount, overdue_amount, overdue_principal, dpd, overdue_installments,
    status, closed_date, five_class, as_of_date, load_id,
    bitOr(bitShiftLeft(toUInt64(toUInt16(as_of_date)), 40), load_seq) AS version,
    toUInt8(record_type = 'D') AS is_deleted
FROM {database:Identifier}.loan_states_local;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.account_months_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.account_months_local AS
SELECT
    toStartOfMonth(as_of_date) AS month, borrower_key, member_code, account_id, member_type,
    province, birth_year, product, guarantee, opened_date, credit_amount, balance,
    scheduled_amount, paid_amount, overdue_amount, dpd, overdue_installments, status, closed_date,
    five_class, as_of_date,
    bitOr(bitShiftLeft(toUInt64(toUInt16(as_of_date)), 40), load_seq) AS version,
    toUInt8(record_type = 'D') AS is_deleted
FROM {database:Identifier}.loan_states_local;

OPTIMIZE TABLE {database:Identifier}.loan_states_local ON CLUSTER '{cluster}' FINAL;
