-- 0011 borrower_lookup as compact parts (issue 16), single node / chDB. The cluster variant is
-- sql/cluster/0011_borrower_lookup_compact.sql.
--
-- 0007 set borrower_lookup's settings for compact parts (a granule's columns in one file; a point
-- read opens one file instead of one per column) and merged it, but ClickHouse keeps a merge of
-- an existing wide part wide: measured, a warehouse upgraded with data still had one wide part
-- (a fresh one, whose parts are all written after 0007, gets compact parts). So the table is
-- rebuilt: a copy with the same columns and settings, filled from it, swapped in by name, and
-- the three views that feed it created again (they write to it by name).
-- Run while nothing writes (migrations run before jdx serve serves); a failed run can be re-run
-- from its first statement only while borrower_lookup_wide does not exist yet.
DROP VIEW IF EXISTS borrower_lookup_accounts_mv;

DROP VIEW IF EXISTS borrower_lookup_months_mv;

DROP VIEW IF EXISTS borrower_lookup_counts_mv;

-- (a copy left by a failed run is filled again: the same rows, deduplicated by their version)
CREATE TABLE IF NOT EXISTS borrower_lookup_compact AS borrower_lookup;

INSERT INTO borrower_lookup_compact SELECT * FROM borrower_lookup;

RENAME TABLE borrower_lookup TO borrower_lookup_wide, borrower_lookup_compact TO borrower_lookup;

DROP TABLE borrower_lookup_wide;

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
