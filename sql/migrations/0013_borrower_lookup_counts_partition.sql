-- 0013 borrower_lookup's inquiry counts in a partition of their own (issue 16), single node /
-- chDB. The cluster variant is sql/cluster/0013_borrower_lookup_counts_partition.sql.
--
-- Since 0007 the inquiry counts are kind C rows of borrower_lookup (one read per lookup), and
-- every fold of the inquiry log (each [api] inquiry_fold_seconds) and every batch job wrote them
-- as a small part beside the table's big one. A point read pays for every part it looks into:
-- measured on the 10.2M-account warehouse (docs/benchmarks.md), 1.39x the floor with one part,
-- 1.47x with one small part more, 1.50-1.56x with three; and a background merge that takes a
-- small part into the big one rewrites the whole table (900 MB). So the table is partitioned by
-- `kind = 'C'`: accounts and month-end states (A, M) in partition 0, which the inquiry log never
-- writes to; counts (C) in partition 1, which products.inquiry_log merges into one part after each
-- fold (OPTIMIZE … PARTITION ID '1' FINAL: 0.35 s for 0.3M counts). A lookup then reads two parts,
-- measured at 1.49-1.55x against 1.48-1.50x for one (same run). Merges never cross partitions.
--
-- A partition key cannot be altered, so the table is rebuilt as 0012 rebuilds loan_states: a copy
-- with the new layout, filled from it, swapped in atomically (EXCHANGE TABLES), the old data
-- dropped, and the three views that write to it created again. Kill-safe: a re-run resumes after
-- the last recorded step (warehouse.migrations). Run while nothing writes (migrations run before
-- jdx serve serves).
DROP VIEW IF EXISTS borrower_lookup_accounts_mv;

DROP VIEW IF EXISTS borrower_lookup_months_mv;

DROP VIEW IF EXISTS borrower_lookup_counts_mv;

CREATE TABLE IF NOT EXISTS borrower_lookup_next AS borrower_lookup
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY kind = 'C'
ORDER BY (borrower_key, kind, member_code, account_id, month)
SETTINGS index_granularity = 1024, min_bytes_for_wide_part = 1000000000000000,
    min_rows_for_wide_part = 1000000000000000;

INSERT INTO borrower_lookup_next SELECT * FROM borrower_lookup;

EXCHANGE TABLES borrower_lookup AND borrower_lookup_next;

-- (the old, unpartitioned data)
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
    day AS month, version, toUInt8(0) AS is_deleted, member_type, product, inquiries, first_at
FROM inquiry_counts;

OPTIMIZE TABLE borrower_lookup FINAL;
