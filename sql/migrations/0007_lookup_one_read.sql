-- 0007 lookup in one read (issue 16): a single-borrower lookup reads ONE table, borrower_lookup,
-- in one pipeline (single node / chDB). The cluster variant is sql/cluster/0007_lookup_one_read.sql.
--
-- Measured (docs/benchmarks.md): after 0006, lookup_borrower read borrower_lookup and
-- inquiry_counts as two scalar subqueries, evaluated while planning; 3.3x a merged single-table
-- point read. As a UNION ALL of the two reads it stays above 2.5x: the cost of a point read grows
-- with the tables and the column files it opens (borrower_lookup's 3 columns read as fast as the
-- floor, its 19 columns at about 2x). So:
--
-- * kind C rows: borrower_lookup also holds the inquiry counts, copied from inquiry_counts by a
--   view (every writer of inquiry_counts — the inquiry log's fold, batch jobs — feeds it):
--     member_code, member_type, product, month = the count's China-time day, version,
--     inquiries, first_at, and account_id = the rest of the count's identity as text
--     'member_type|product|purpose|night|source|slot' (slot as Unix seconds), so that the
--     table's key (borrower_key, kind, member_code, account_id, month) is the count's key and a
--     merge keeps the latest version of each count only. inquiry_counts stays the table the
--     fold, restarts and the console read.
-- * Compact parts: the columns of a granule in one file (a point read opens one file instead of
--   one per column).
ALTER TABLE borrower_lookup MODIFY COLUMN kind Enum8('A' = 1, 'M' = 2, 'C' = 3);

ALTER TABLE borrower_lookup
    ADD COLUMN IF NOT EXISTS inquiries UInt32,
    ADD COLUMN IF NOT EXISTS first_at DateTime64(3, 'UTC');

ALTER TABLE borrower_lookup
    MODIFY SETTING min_bytes_for_wide_part = 1000000000000000, min_rows_for_wide_part = 1000000000000000;

CREATE MATERIALIZED VIEW IF NOT EXISTS borrower_lookup_counts_mv TO borrower_lookup AS
SELECT
    borrower_key, 'C' AS kind, member_code,
    concat(member_type, '|', product, '|', purpose, '|', toString(night), '|', source, '|',
           toString(toUnixTimestamp(slot))) AS account_id,
    day AS month, version, toUInt8(0) AS is_deleted, member_type, product, inquiries, first_at
FROM inquiry_counts;

-- Counts written before this migration (a count written meanwhile twice is the same row).
INSERT INTO borrower_lookup
    (borrower_key, kind, member_code, account_id, month, version, is_deleted, member_type, product,
     inquiries, first_at)
SELECT
    borrower_key, 'C', member_code,
    concat(member_type, '|', product, '|', purpose, '|', toString(night), '|', source, '|',
           toString(toUnixTimestamp(slot))),
    day, version, toUInt8(0), member_type, product, inquiries, first_at
FROM inquiry_counts;

-- rewrites the table as compact parts
OPTIMIZE TABLE borrower_lookup FINAL;
