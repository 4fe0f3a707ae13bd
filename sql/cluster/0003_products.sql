-- 0003 products, cluster variant of sql/migrations/0003_products.sql (see its header for why
-- lookup_rows exists and what its payloads hold).
-- lookup_rows is sharded by borrower like the tables it is fed from, so a lookup reads one shard
-- (optimize_skip_unused_shards); its views hang on the local tables of each shard.
-- Backfill: the single-node migration copies rows loaded before it; ON CLUSTER DDL cannot, so a
-- cluster that already holds data runs the three INSERT … SELECT statements of
-- sql/migrations/0003_products.sql against lookup_rows_local on every shard, once.
-- batch_keys is sharded by member and job: a job's keys sit together; lookups against the
-- borrower-sharded tables read them with GLOBAL IN, which ships the key set to every shard once.
CREATE TABLE IF NOT EXISTS {database:Identifier}.lookup_rows_local ON CLUSTER '{cluster}'
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/lookup_rows', '{replica}', version, is_deleted)
ORDER BY (borrower_key, kind, member_code, account_id, month)
SETTINGS index_granularity = 1024;

CREATE TABLE IF NOT EXISTS {database:Identifier}.lookup_rows ON CLUSTER '{cluster}'
(
    borrower_key  FixedString(64),
    kind          LowCardinality(String),
    member_code   LowCardinality(String),
    account_id    String,
    month         Date,
    version       UInt64,
    is_deleted    UInt8,
    payload       String
)
ENGINE = Distributed('{cluster}', {database:String}, 'lookup_rows_local', cityHash64(borrower_key));

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.lookup_accounts_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.lookup_rows_local AS
SELECT
    borrower_key, 'A' AS kind, member_code, account_id, toDate(0) AS month, version, is_deleted,
    toJSONString((member_code, member_type, account_id, name_hash, product, opened_date,
                  toString(credit_amount), toString(balance), toString(overdue_amount), dpd,
                  status, closed_date, as_of_date)) AS payload
FROM {database:Identifier}.accounts_current_local;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.lookup_months_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.lookup_rows_local AS
SELECT
    borrower_key, 'M' AS kind, member_code, account_id, month, version, is_deleted,
    toJSONString((member_code, account_id, month, dpd, status, toString(balance),
                  toString(scheduled_amount), toString(paid_amount))) AS payload
FROM {database:Identifier}.account_months_local;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.lookup_inquiries_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.lookup_rows_local AS
SELECT
    borrower_key, 'Q' AS kind, member_code, toString(inquiry_id) AS account_id,
    toDate(queried_at) AS month, toUInt64(0) AS version, toUInt8(0) AS is_deleted,
    toJSONString((queried_at, member_code, member_type, product, purpose,
                  toString(inquiry_id))) AS payload
FROM {database:Identifier}.inquiries_local;

CREATE TABLE IF NOT EXISTS {database:Identifier}.batch_keys_local ON CLUSTER '{cluster}'
(
    job_id        String,
    member_code   LowCardinality(String),       -- owner of the job
    line          UInt32,                       -- the borrower's row in the submitted job
    borrower_key  FixedString(64)
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/batch_keys', '{replica}')
PARTITION BY job_id
ORDER BY (job_id, borrower_key);

CREATE TABLE IF NOT EXISTS {database:Identifier}.batch_keys ON CLUSTER '{cluster}'
(
    job_id        String,
    member_code   LowCardinality(String),
    line          UInt32,
    borrower_key  FixedString(64)
)
ENGINE = Distributed('{cluster}', {database:String}, 'batch_keys_local', cityHash64(member_code, job_id));
