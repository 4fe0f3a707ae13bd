-- 0014 borrower_lookup's inquiry counts partitioned by day, with an archive partition (issue 16),
-- single node / chDB. The cluster variant is sql/cluster/0014_borrower_lookup_counts_by_day.sql.
--
-- Since 0013 the counts (kind C) were one partition, which the inquiry log's fold merged into one
-- part: a merge that rewrites every count kept, about one row per lookup for a year or more —
-- 2.4 s at 3M counts, 9.9 s at 10M (bench/inquiry_fold.py) — so it was budgeted, and between
-- merges a lookup read up to 7 parts of counts, ~0.2 ms each. Now the partition of a kind C row
-- is its as_of_date (unused by counts until now): the counts' day while that day is recent, and
-- 1970-01-01 (the archive) once products.inquiry_log has moved the day there:
--   partition 0          accounts and month-end states (A, M), never written by the inquiry log
--   partition 19700101   the archive of counts: merged into one part once a day, after the move
--   partition YYYYMMDD   the counts of one China-time day (the view sets as_of_date = day),
--                        merged into one part by every fold: its merge rewrites one day's counts
-- A lookup reads three parts (the accounts', the archive's and today's) whatever the counts kept.
-- Moving a day copies its rows into the archive (as_of_date = 1970-01-01, nothing else changed)
-- and drops its partition: a kill between the two leaves the same row in both, which readers
-- count once (each identity at its highest version, products.lookups.borrower) and the archive's
-- merge (ReplacingMergeTree) keeps once.
--
-- Rebuilt as 0013 rebuilt it (a partition key cannot be altered): a copy with the new layout,
-- filled from it with every count in the archive, swapped in (EXCHANGE TABLES), the old data
-- dropped, the three views created again. Kill-safe by warehouse.migrations' steps; run while
-- nothing writes (migrations run before jdx serve serves).
DROP VIEW IF EXISTS borrower_lookup_accounts_mv;

DROP VIEW IF EXISTS borrower_lookup_months_mv;

DROP VIEW IF EXISTS borrower_lookup_counts_mv;

CREATE TABLE IF NOT EXISTS borrower_lookup_next AS borrower_lookup
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY if(kind = 'C', toYYYYMMDD(as_of_date), 0)
ORDER BY (borrower_key, kind, member_code, account_id, month)
SETTINGS index_granularity = 1024, min_bytes_for_wide_part = 1000000000000000,
    min_rows_for_wide_part = 1000000000000000;

INSERT INTO borrower_lookup_next
SELECT * REPLACE (if(kind = 'C', toDate(0), as_of_date) AS as_of_date) FROM borrower_lookup;

EXCHANGE TABLES borrower_lookup AND borrower_lookup_next;

-- (the old data, partitioned by kind = 'C')
DROP TABLE IF EXISTS borrower_lookup_next;

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

CREATE MATERIALIZED VIEW IF NOT EXISTS borrower_lookup_counts_mv TO borrower_lookup AS
SELECT
    borrower_key, 'C' AS kind, member_code,
    concat(member_type, '|', product, '|', purpose, '|', toString(night), '|', source, '|',
           toString(toUnixTimestamp(slot))) AS account_id,
    day AS month, version, toUInt8(0) AS is_deleted, member_type, product, day AS as_of_date,
    inquiries, first_at
FROM inquiry_counts;

OPTIMIZE TABLE borrower_lookup FINAL;
