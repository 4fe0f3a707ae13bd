-- 0006 lean lookups (issue 16): what a single-borrower lookup reads, typed and merged, with the
-- inquiry log off its read path (single node / chDB). The cluster variant is
-- sql/cluster/0006_lean_lookups.sql.
--
-- borrower_lookup replaces lookup_rows (0003): the same rows of accounts (kind A, ← the view on
-- accounts_current) and month-end states (kind M, ← the view on account_months), ordered by
-- borrower, unpartitioned, read without FINAL (products.lookups.borrower keeps each identity's
-- highest version and drops it when that version is a delete) — but as typed columns instead of
-- a JSON payload, statuses as Enum8 codes, and no inquiry rows. The 24-month grid stays as month
-- rows (one per account and month): the views fill them in the load's own insert, while a grid
-- held as arrays per account would need every month of the account at once (a fill after the
-- load); bench/lookup_layout.py measures both layouts (docs/benchmarks.md).
--   A: member_code, account_id, version, is_deleted, member_type, product, name_hash,
--      opened_date, closed_date (1970-01-01: none), credit_amount, balance, overdue_amount, dpd,
--      status, as_of_date; month = 1970-01-01
--   M: member_code, account_id, month, version, is_deleted, balance, scheduled_amount,
--      paid_amount, dpd, status; the A-only columns at their defaults
-- Retention follows account_months: retention_purge_lookup_months deletes the purged M rows here.
CREATE TABLE IF NOT EXISTS borrower_lookup
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
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (borrower_key, kind, member_code, account_id, month)
SETTINGS index_granularity = 1024;

DROP VIEW IF EXISTS lookup_accounts_mv;

DROP VIEW IF EXISTS lookup_months_mv;

DROP VIEW IF EXISTS lookup_inquiries_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS borrower_lookup_accounts_mv TO borrower_lookup AS
SELECT
    borrower_key, 'A' AS kind, member_code, account_id, toDate(0) AS month, version, is_deleted,
    member_type, product, name_hash, opened_date, ifNull(closed_date, toDate(0)) AS closed_date,
    credit_amount, balance, overdue_amount, dpd, status, as_of_date
FROM accounts_current;

CREATE MATERIALIZED VIEW IF NOT EXISTS borrower_lookup_months_mv TO borrower_lookup AS
SELECT
    borrower_key, 'M' AS kind, member_code, account_id, month, version, is_deleted, balance,
    scheduled_amount, paid_amount, dpd, status
FROM account_months;

-- Rows loaded before this migration (a row written meanwhile twice is deduplicated by its key).
INSERT INTO borrower_lookup
    (borrower_key, kind, member_code, account_id, month, version, is_deleted, member_type, product,
     name_hash, opened_date, closed_date, credit_amount, balance, overdue_amount, dpd, status,
     as_of_date)
SELECT
    borrower_key, 'A', member_code, account_id, toDate(0), version, is_deleted, member_type,
    product, name_hash, opened_date, ifNull(closed_date, toDate(0)), credit_amount, balance,
    overdue_amount, dpd, status, as_of_date
FROM accounts_current;

INSERT INTO borrower_lookup
    (borrower_key, kind, member_code, account_id, month, version, is_deleted, balance,
     scheduled_amount, paid_amount, dpd, status)
SELECT
    borrower_key, 'M', member_code, account_id, month, version, is_deleted, balance,
    scheduled_amount, paid_amount, dpd, status
FROM account_months;

DROP TABLE IF EXISTS lookup_rows;

-- inquiry_counts: the inquiries a lookup reports, counted per borrower, China-time day, member,
-- institution type, product, purpose and night (22:00–05:59 China time), merged in the
-- background instead of a row per logged lookup on the read path. Written by
-- products.inquiry_log, never per request:
--   source ''             single lookups, folded from `inquiries` by the minute (`slot`, UTC)
--                         every [api] inquiry_fold_seconds once the minute is complete
--                         (named statement inquiry_counts_fold); the lookups of minutes not yet
--                         folded are answered from the server's memory (the inquiry log).
--   source 'batch:<job>'  a batch job's rows, counted when the job logs them (slot: the minute
--                         of the job's time, which all its rows share).
-- A fold of the same minutes again (a restart, a late row) writes the same keys with a higher
-- version: ReplacingMergeTree keeps the latest, and readers take the highest version per key.
-- first_at: the earliest inquiry of the row (the order of anonymous labels needs it).
CREATE TABLE IF NOT EXISTS inquiry_counts
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
ENGINE = ReplacingMergeTree(version)
ORDER BY (borrower_key, day, member_code, member_type, product, purpose, night, source, slot)
SETTINGS index_granularity = 1024;

-- Inquiries logged before this migration: single lookups by the minute, batch rows by job.
INSERT INTO inquiry_counts
SELECT
    borrower_key, toDate(queried_at, 'Asia/Shanghai') AS day, member_code, member_type, product,
    purpose,
    toUInt8(toHour(queried_at, 'Asia/Shanghai') >= 22 OR toHour(queried_at, 'Asia/Shanghai') < 6)
        AS night,
    if(batch_id = '', '', concat('batch:', batch_id)) AS source,
    toStartOfMinute(queried_at) AS slot, toUInt32(count()) AS inquiries,
    min(queried_at) AS first_at, toUInt64(0) AS version
FROM inquiries FINAL
GROUP BY borrower_key, day, member_code, member_type, product, purpose, night, source, slot;

OPTIMIZE TABLE borrower_lookup FINAL;

OPTIMIZE TABLE inquiry_counts FINAL;
