-- 0003 products: what the lookup API reads (single node / chDB).
-- The cluster variant is sql/cluster/0003_products.sql.
--
-- lookup_rows: every row a single-borrower lookup needs, in ONE table ordered by borrower, each
-- row's fields packed into one JSON text column. Measured on 300k borrowers × 12 months (2 cores,
-- shared): reading the 13 columns of accounts_current FINAL took 8.5 ms and the month-end states
-- from account_months FINAL (a part per month partition) 31 ms; lookup_rows answers the same in
-- 4–5 ms: a point read costs per column and per part, so the lookup reads 4 columns of one
-- unpartitioned table, without FINAL (products.lookups.borrower keeps the highest version of each
-- row and drops deleted ones, which is what FINAL would do).
--   kind 'A'  an account's current state   identity (member_code, account_id)          ← accounts_current
--   kind 'M'  a month-end state            identity (member_code, account_id, month)   ← account_months
--   kind 'Q'  a logged lookup (inquiry)    identity (member_code, inquiry id, day)     ← inquiries
-- Fed by materialized views on the three tables, so every write to them — the loan_states views,
-- the loader's tombstones for D records, the API's inquiry log — reaches it in the same insert.
-- Payloads (JSON arrays; money as text, exact):
--   A [member_code, member_type, account_id, name_hash, product, opened_date, credit_amount,
--      balance, overdue_amount, dpd, status, closed_date, as_of_date]
--   M [member_code, account_id, month, dpd, status, balance, scheduled_amount, paid_amount]
--   Q [queried_at (UTC text), member_code, member_type, product, purpose, inquiry_id]
-- Retention follows its sources: the purge job (DOMAIN §4) must delete here what it deletes there.
CREATE TABLE IF NOT EXISTS lookup_rows
(
    borrower_key  FixedString(64),
    kind          LowCardinality(String),
    member_code   LowCardinality(String),
    account_id    String,                       -- inquiry id for kind Q
    month         Date,                         -- 1970-01-01 for kind A; the day for kind Q
    version       UInt64,
    is_deleted    UInt8,
    payload       String
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (borrower_key, kind, member_code, account_id, month)
SETTINGS index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS lookup_accounts_mv TO lookup_rows AS
SELECT
    borrower_key, 'A' AS kind, member_code, account_id, toDate(0) AS month, version, is_deleted,
    toJSONString((member_code, member_type, account_id, name_hash, product, opened_date,
                  toString(credit_amount), toString(balance), toString(overdue_amount), dpd,
                  status, closed_date, as_of_date)) AS payload
FROM accounts_current;

CREATE MATERIALIZED VIEW IF NOT EXISTS lookup_months_mv TO lookup_rows AS
SELECT
    borrower_key, 'M' AS kind, member_code, account_id, month, version, is_deleted,
    toJSONString((member_code, account_id, month, dpd, status, toString(balance),
                  toString(scheduled_amount), toString(paid_amount))) AS payload
FROM account_months;

CREATE MATERIALIZED VIEW IF NOT EXISTS lookup_inquiries_mv TO lookup_rows AS
SELECT
    borrower_key, 'Q' AS kind, member_code, toString(inquiry_id) AS account_id,
    toDate(queried_at) AS month, toUInt64(0) AS version, toUInt8(0) AS is_deleted,
    toJSONString((queried_at, member_code, member_type, product, purpose,
                  toString(inquiry_id))) AS payload
FROM inquiries;

-- Rows loaded before this migration (a row written meanwhile twice is deduplicated by its key).
INSERT INTO lookup_rows
SELECT
    borrower_key, 'A', member_code, account_id, toDate(0), version, is_deleted,
    toJSONString((member_code, member_type, account_id, name_hash, product, opened_date,
                  toString(credit_amount), toString(balance), toString(overdue_amount), dpd,
                  status, closed_date, as_of_date))
FROM accounts_current;

INSERT INTO lookup_rows
SELECT
    borrower_key, 'M', member_code, account_id, month, version, is_deleted,
    toJSONString((member_code, account_id, month, dpd, status, toString(balance),
                  toString(scheduled_amount), toString(paid_amount)))
FROM account_months;

INSERT INTO lookup_rows
SELECT
    borrower_key, 'Q', member_code, toString(inquiry_id), toDate(queried_at), 0, 0,
    toJSONString((queried_at, member_code, member_type, product, purpose, toString(inquiry_id)))
FROM inquiries;

-- batch_keys: the borrower keys of one batch job while it runs. A job inserts its keys here in
-- one Arrow insert, reads the accounts and inquiries of exactly those borrowers with
-- `borrower_key IN (SELECT borrower_key FROM batch_keys WHERE job_id = …)` — the set is built
-- once and the primary-key index of the borrower tables prunes with it — and drops its partition
-- when done. (Sending 100k keys as a query parameter instead costs ~18 µs per key in parameter
-- binding alone: ~55k keys/s before any work, so the keys travel as data.)
-- No raw identity here either: borrower_key is the keyed hash.
CREATE TABLE IF NOT EXISTS batch_keys
(
    job_id        String,
    member_code   LowCardinality(String),       -- owner of the job
    line          UInt32,                       -- the borrower's row in the submitted job
    borrower_key  FixedString(64)
)
ENGINE = MergeTree
PARTITION BY job_id
ORDER BY (job_id, borrower_key);
