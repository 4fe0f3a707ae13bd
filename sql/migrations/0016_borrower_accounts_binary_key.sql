-- 0016 borrower_accounts keyed by the binary digest (issue 16), single node / chDB. The cluster
-- variant is sql/cluster/0016_borrower_accounts_binary_key.sql.
--
-- A batch job's account figures (named query batch_accounts) read the whole key column of
-- borrower_accounts: with 100k keys among millions of borrowers every granule holds one. Since
-- 0010 that column is the 64-character hex digest (FixedString(64), ZSTD); the digest's 32 bytes
-- (FixedString(32), the default LZ4: random bytes do not compress) take the same space on disk
-- (328 MB against 325 MB for 10.2M account states) and half the bytes to decompress, compare and
-- hash. Measured on the bench's 10.2M-account warehouse, 100k keys, alternating (docs/
-- benchmarks.md): the key scan and grouping 250 -> 185 ms, the whole query in the engine 481 ->
-- 435 ms, through clickhouse-connect 525 -> 480 ms; the rest is the figure columns of every
-- granule. Keys stay hex everywhere else; batch_accounts converts at its edges
-- (toFixedString(unhex(...), 32) for the job's keys — a set of plain unhex() Strings misses every
-- key whose digest ends in a zero byte — and lower(hex(...)) for its answer).
--
-- The table is rebuilt as 0013 rebuilds borrower_lookup: a copy with the new key, filled from it
-- (every version, so a repeat writes the same rows), swapped in atomically (EXCHANGE TABLES), the
-- old data dropped, the view that fills it from accounts_current created again, merged. Kill-safe:
-- a re-run resumes after the last recorded step (warehouse.migrations). Run while nothing writes
-- (migrations run before jdx serve serves).
DROP VIEW IF EXISTS borrower_accounts_mv;

CREATE TABLE IF NOT EXISTS borrower_accounts_next
(
    borrower_key    FixedString(32),              -- unhex of the 64-character hex digest
    account         UInt64,                       -- sipHash64(member_code, account_id)
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
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (borrower_key, account);

INSERT INTO borrower_accounts_next
SELECT
    unhex(borrower_key), account, version, is_deleted, member_code, status, opened_date,
    credit_amount, balance, overdue_amount, dpd
FROM borrower_accounts;

EXCHANGE TABLES borrower_accounts AND borrower_accounts_next;

-- (the old, hex-keyed data)
DROP TABLE IF EXISTS borrower_accounts_next;

CREATE MATERIALIZED VIEW IF NOT EXISTS borrower_accounts_mv TO borrower_accounts AS
SELECT
    unhex(borrower_key) AS borrower_key, sipHash64(member_code, account_id) AS account, version,
    is_deleted, member_code, status, opened_date, credit_amount, balance, overdue_amount, dpd
FROM accounts_current;

OPTIMIZE TABLE borrower_accounts FINAL;
