-- 0018 borrower_lookup's figures packed in one column (issue 16), single node / chDB. The cluster
-- variant is sql/cluster/0018_borrower_lookup_packed.sql.
--
-- A lookup reads every row of its borrower in borrower_lookup (named query lookup_borrower), and
-- the read's cost is the columns it opens: measured on the bench's 10.2M-account warehouse
-- (docs/benchmarks.md), its 21 typed columns 1.57-1.71x the floor, the same rows with the
-- figures packed in one text column and the six columns of each row's identity 1.11x, on the same
-- borrowers alternating. So every column that is not the row's identity or partition goes into
-- `payload`, '|'-separated text whose fields depend on the kind (the view writing the kind sets
-- them; products.lookups.borrower reads them):
--   A  member_type|product|name_hash|opened_date|closed_date ('' when open)|credit_amount|
--      balance|overdue_amount|dpd|status|as_of_date
--   M  balance|scheduled_amount|paid_amount|dpd|status
--   C  inquiries|first_at (Unix milliseconds); the count's member type and product are in its
--      account_id already (member_type|product|purpose|night|source|slot)
-- Dates are 'YYYY-MM-DD', amounts ClickHouse's decimal text, statuses their names. No field holds
-- a '|': they are codes, hex digests, numbers and dates. as_of_date stays a column: kind C rows
-- are partitioned by it (migration 0014).
--
-- Rebuilt as 0014 rebuilt it: a copy with the new columns, filled from it (every version, so a
-- repeat writes the same rows), swapped in (EXCHANGE TABLES), the old data dropped, the three
-- views created again, merged. Kill-safe by warehouse.migrations' steps; run while nothing writes
-- (migrations run before jdx serve serves).
DROP VIEW IF EXISTS borrower_lookup_accounts_mv;

DROP VIEW IF EXISTS borrower_lookup_months_mv;

DROP VIEW IF EXISTS borrower_lookup_counts_mv;

CREATE TABLE IF NOT EXISTS borrower_lookup_next
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
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY if(kind = 'C', toYYYYMMDD(as_of_date), 0)
ORDER BY (borrower_key, kind, member_code, account_id, month)
SETTINGS index_granularity = 1024, min_bytes_for_wide_part = 1000000000000000,
    min_rows_for_wide_part = 1000000000000000;

-- (the days of counts not yet archived are partitions of their own: more than the engine's 100 a
-- block after a long stop)
INSERT INTO borrower_lookup_next
SETTINGS max_partitions_per_insert_block = 0
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
FROM borrower_lookup;

EXCHANGE TABLES borrower_lookup AND borrower_lookup_next;

-- (the old data, in typed columns)
DROP TABLE IF EXISTS borrower_lookup_next;

CREATE MATERIALIZED VIEW IF NOT EXISTS borrower_lookup_accounts_mv TO borrower_lookup AS
SELECT
    borrower_key, 'A' AS kind, member_code, account_id, toDate(0) AS month, version, is_deleted,
    as_of_date,
    concatWithSeparator('|', member_type, product, name_hash, toString(opened_date),
                        ifNull(toString(closed_date), ''), toString(credit_amount),
                        toString(balance), toString(overdue_amount), toString(dpd),
                        toString(status), toString(as_of_date)) AS payload
FROM accounts_current;

CREATE MATERIALIZED VIEW IF NOT EXISTS borrower_lookup_months_mv TO borrower_lookup AS
SELECT
    borrower_key, 'M' AS kind, member_code, account_id, month, version, is_deleted,
    concatWithSeparator('|', toString(balance), toString(scheduled_amount), toString(paid_amount),
                        toString(dpd), toString(status)) AS payload
FROM account_months;

CREATE MATERIALIZED VIEW IF NOT EXISTS borrower_lookup_counts_mv TO borrower_lookup AS
SELECT
    borrower_key, 'C' AS kind, member_code,
    concat(member_type, '|', product, '|', purpose, '|', toString(night), '|', source, '|',
           toString(toUnixTimestamp(slot))) AS account_id,
    day AS month, version, toUInt8(0) AS is_deleted, day AS as_of_date,
    concatWithSeparator('|', toString(inquiries), toString(toUnixTimestamp64Milli(first_at)))
        AS payload
FROM inquiry_counts;

OPTIMIZE TABLE borrower_lookup FINAL;
