-- 0001 initial schema, cluster variant: the same tables as sql/migrations/0001_initial.sql for a
-- sharded, replicated ClickHouse cluster. `jdx warehouse migrate` applies this file instead of
-- the single-node one when JDX_WAREHOUSE_CLUSTER is set (see warehouse/migrations.py).
--
-- Shape
-- * Every table T is two tables: T_local (ReplicatedReplacingMergeTree on each shard, Keeper path
--   /clickhouse/tables/{shard}/{database}/T, replica '{replica}') holds the data; T (Distributed)
--   has the same columns and the same name as on a single node, so named queries and loaders run
--   unchanged on both. Reads and inserts go to T; merges and OPTIMIZE to T_local.
-- * Materialized views are on the local tables: an insert into loan_states is routed to one shard's
--   loan_states_local, whose views write accounts_current_local and account_months_local on that
--   same shard. That is correct only because all three are sharded by the same key.
-- * Sharding key (Distributed's 4th argument): cityHash64(borrower_key) for every table read by
--   borrower (loan_states, accounts_current, account_months, inquiries), so one borrower's rows
--   live on one shard and a multi-loan lookup touches one shard. Replacing tables deduplicate only
--   within a shard, so all versions of a row must hash to the same shard: the sharding columns must
--   be fixed by the row's key. loan_states is keyed (member_code, account_id, as_of_date), and an
--   account's borrower_key never changes (DOMAIN §2 rule 5: send D then A), so that holds; a pepper
--   rotation (re-key job) changes every key and is a rebuild, not an update.
--   Member-keyed tables: submissions and dq_daily by cityHash64(member_code) (small; a member's
--   duplicate-file check and DQ page read one shard); rejections by cityHash64(member_code, load_id)
--   (a file's errors together for its errors.csv, a big member's bad files spread over shards; both
--   columns are in the table's key, so a replayed load lands where the first one did).
-- * Names: the database is the {database:Identifier} / {database:String} query parameter, bound by
--   the server from JDX_WAREHOUSE_DATABASE (never formatted into the text); the cluster is the
--   server's '{cluster}' macro (migrate checks it names JDX_WAREHOUSE_CLUSTER). Tables are
--   qualified everywhere because ON CLUSTER DDL runs on the other hosts in their default database.
-- * Each host needs <macros> cluster, shard and replica, and Keeper; `jdx warehouse migrate` runs
--   once against any one node.
--
-- Reading and writing on the cluster
-- * Lookups by borrower: SETTINGS optimize_skip_unused_shards = 1 (set it in the lookup users'
--   profile, or on the query) with `WHERE borrower_key = {key:FixedString(64)}` (or IN a list): the
--   Distributed table sends the query only to the shard owning that key instead of to all of them.
--   force_optimize_skip_unused_shards = 1 in the API profile turns a lookup that would fan out into
--   an error, which catches a query written without the key.
-- * FINAL on a Distributed table runs FINAL on each shard; correct here because of the sharding
--   rule above.
-- * Loaders: insert into the Distributed tables with distributed_foreground_insert = 1 so a failed
--   shard is an error at insert time (then retried; Replicated tables drop a retried identical
--   block, and ReplacingMergeTree + FINAL make a replayed load count once anyway).
--
-- Capacity model: 500M borrowers, 3B accounts, 24 months of snapshots
-- Bytes per row are measured on the embedded warehouse (chDB 26.9, default LZ4, after OPTIMIZE
-- FINAL, synthetic data: 1M loan_states rows of 100k accounts x 10 months, 1M inquiries):
--   loan_states 67, account_months 34, accounts_current 42, inquiries 39 bytes on disk per row.
-- Real data has more entropy in amounts and ids than the synthetic set: plan with x1.5.
--   table              rows (assumption)                            B/row   size, one copy
--   loan_states        108B  (3B accounts x 24 months x 1.5 states:
--                            monthly states + intra-month changes
--                            and corrections)                          100      10.8 TB
--   account_months      72B  (3B x 24, upper bound: every account
--                            reported every month)                      51       3.7 TB
--   accounts_current     3B                                              63       0.2 TB
--   inquiries         14.6B  (20M lookups a day x 730 days)             59       0.9 TB
--   submissions, rejections, dq_daily: small next to these (< 0.1 TB)
--   total                                                                      ~15.6 TB
-- Shards: at most ~2 TB compressed per shard keeps merges, FINAL and a replica rebuild to hours on
-- NVMe: 8 shards x 2 replicas = 16 servers, each ~2 TB of data on 4 TB NVMe (headroom for
-- merges and growth), 64-128 GB RAM. Per shard: 62M borrowers, 375M current accounts (~24 GB:
-- the lookup working set stays in the page cache), 13.5B loan_states rows.
-- Ingest: 3B accounts x 1.5 states / 30 days = 150M rows a day (~1.7k rows/s on average; nightly
-- peaks 10-50x); one embedded 2-core node loads ~80k loan_states rows/s including both views, so a
-- shard is far from write-bound. Lookups: one shard per borrower with optimize_skip_unused_shards;
-- the embedded point lookup measured 2.5 ms p50 on 10M merged rows (DOMAIN §7); a shard's primary
-- index keeps the same per-key cost, so scale-out adds shards for storage, replicas for queries/s.
-- Retention beyond 24 months and the 5-year rule for negative data are the purge job's, not TTLs.

-- submissions: one row per received file; sharded by member (see header).
CREATE TABLE IF NOT EXISTS {database:Identifier}.submissions_local ON CLUSTER '{cluster}'
(
    load_id       String,                      -- ULID-like id, also in the receipt
    load_seq      UInt64,                      -- strictly increasing per accepted file
    member_code   LowCardinality(String),
    file_name     String,
    sha256        FixedString(64),
    spec          LowCardinality(String),      -- 'loans/1'
    as_of         Date,
    file_date     Date,
    received_at   DateTime64(3, 'UTC'),
    status        LowCardinality(String),      -- received | loading | accepted | partially_accepted | rejected | duplicate
    records       UInt32,
    accepted      UInt32,
    rejected      UInt32,
    warnings      UInt32,
    error_counts  Map(String, UInt32),         -- rule code -> count
    dq_score      Float32,
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/submissions', '{replica}', updated_at)
ORDER BY (member_code, sha256, load_id);

CREATE TABLE IF NOT EXISTS {database:Identifier}.submissions ON CLUSTER '{cluster}'
(
    load_id       String,
    load_seq      UInt64,
    member_code   LowCardinality(String),
    file_name     String,
    sha256        FixedString(64),
    spec          LowCardinality(String),
    as_of         Date,
    file_date     Date,
    received_at   DateTime64(3, 'UTC'),
    status        LowCardinality(String),
    records       UInt32,
    accepted      UInt32,
    rejected      UInt32,
    warnings      UInt32,
    error_counts  Map(String, UInt32),
    dq_score      Float32,
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = Distributed('{cluster}', {database:String}, 'submissions_local', cityHash64(member_code));

-- loan_states: every accepted record; sharded by borrower.
CREATE TABLE IF NOT EXISTS {database:Identifier}.loan_states_local ON CLUSTER '{cluster}'
(
    member_code           LowCardinality(String),
    member_type           LowCardinality(String),   -- institution type at load time
    account_id            String,
    as_of_date            Date,
    record_type           LowCardinality(String),   -- A upsert, D delete (reported in error)
    borrower_key          FixedString(64),
    name_hash             String,
    mobile_hash           String,                   -- '' when not reported
    id_type               LowCardinality(String),
    province              LowCardinality(String),   -- 2-digit GB/T 2260, '' unknown
    birth_year            UInt16,                   -- 0 unknown
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
    five_class            UInt8,                    -- 0 = not reported
    consent_ref           String,
    negative_notice_date  Nullable(Date),
    load_id               String,
    load_seq              UInt64,
    line                  UInt32,
    flags                 Array(LowCardinality(String)),  -- warnings carried by the record
    loaded_at             DateTime64(3, 'UTC'),
    version               UInt64 MATERIALIZED bitOr(bitShiftLeft(toUInt64(toUInt16(as_of_date)), 40), load_seq)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/loan_states', '{replica}', version)
PARTITION BY toYYYYMM(as_of_date)
ORDER BY (member_code, account_id, as_of_date);

CREATE TABLE IF NOT EXISTS {database:Identifier}.loan_states ON CLUSTER '{cluster}'
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
ENGINE = Distributed('{cluster}', {database:String}, 'loan_states_local', cityHash64(borrower_key));

-- accounts_current: latest state per account (view from loan_states_local on the same shard).
CREATE TABLE IF NOT EXISTS {database:Identifier}.accounts_current_local ON CLUSTER '{cluster}'
(
    borrower_key          FixedString(64),
    member_code           LowCardinality(String),
    account_id            String,
    member_type           LowCardinality(String),
    name_hash             String,
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
    as_of_date            Date,
    load_id               String,
    version               UInt64,
    is_deleted            UInt8
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/accounts_current', '{replica}', version, is_deleted)
ORDER BY (borrower_key, member_code, account_id);

CREATE TABLE IF NOT EXISTS {database:Identifier}.accounts_current ON CLUSTER '{cluster}'
(
    borrower_key          FixedString(64),
    member_code           LowCardinality(String),
    account_id            String,
    member_type           LowCardinality(String),
    name_hash             String,
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
    as_of_date            Date,
    load_id               String,
    version               UInt64,
    is_deleted            UInt8
)
ENGINE = Distributed('{cluster}', {database:String}, 'accounts_current_local', cityHash64(borrower_key));

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

-- account_months: last state per account and month (view from loan_states_local).
CREATE TABLE IF NOT EXISTS {database:Identifier}.account_months_local ON CLUSTER '{cluster}'
(
    month                 Date,                     -- first day of the month
    borrower_key          FixedString(64),
    member_code           LowCardinality(String),
    account_id            String,
    member_type           LowCardinality(String),
    province              LowCardinality(String),
    birth_year            UInt16,
    product               LowCardinality(String),
    guarantee             LowCardinality(String),
    opened_date           Date,
    credit_amount         Decimal(18, 2),
    balance               Decimal(18, 2),
    scheduled_amount      Decimal(18, 2),
    paid_amount           Decimal(18, 2),
    overdue_amount        Decimal(18, 2),
    dpd                   UInt16,
    overdue_installments  UInt16,
    status                LowCardinality(String),
    closed_date           Nullable(Date),
    five_class            UInt8,
    as_of_date            Date,
    version               UInt64,
    is_deleted            UInt8
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/account_months', '{replica}', version, is_deleted)
PARTITION BY toYYYYMM(month)
ORDER BY (borrower_key, member_code, account_id, month);

CREATE TABLE IF NOT EXISTS {database:Identifier}.account_months ON CLUSTER '{cluster}'
(
    month                 Date,
    borrower_key          FixedString(64),
    member_code           LowCardinality(String),
    account_id            String,
    member_type           LowCardinality(String),
    province              LowCardinality(String),
    birth_year            UInt16,
    product               LowCardinality(String),
    guarantee             LowCardinality(String),
    opened_date           Date,
    credit_amount         Decimal(18, 2),
    balance               Decimal(18, 2),
    scheduled_amount      Decimal(18, 2),
    paid_amount           Decimal(18, 2),
    overdue_amount        Decimal(18, 2),
    dpd                   UInt16,
    overdue_installments  UInt16,
    status                LowCardinality(String),
    closed_date           Nullable(Date),
    five_class            UInt8,
    as_of_date            Date,
    version               UInt64,
    is_deleted            UInt8
)
ENGINE = Distributed('{cluster}', {database:String}, 'account_months_local', cityHash64(borrower_key));

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

-- inquiries: every lookup; sharded by borrower with the accounts it is read with.
CREATE TABLE IF NOT EXISTS {database:Identifier}.inquiries_local ON CLUSTER '{cluster}'
(
    borrower_key   FixedString(64),
    queried_at     DateTime64(3, 'UTC'),
    inquiry_id     UUID,
    member_code    LowCardinality(String),
    member_type    LowCardinality(String),
    product        LowCardinality(String),       -- MULTI_LOAN | TIME_SERIES | BATCH | SELF | DISPUTE
    purpose        LowCardinality(String),       -- LOAN_APPROVAL | CREDIT_REVIEW | POST_LOAN | GUARANTEE_REVIEW | ...
    consent_ref    String,
    api_key_id     String,
    batch_id       String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/inquiries', '{replica}')
PARTITION BY toYYYYMM(queried_at)
ORDER BY (borrower_key, queried_at, inquiry_id);

CREATE TABLE IF NOT EXISTS {database:Identifier}.inquiries ON CLUSTER '{cluster}'
(
    borrower_key   FixedString(64),
    queried_at     DateTime64(3, 'UTC'),
    inquiry_id     UUID,
    member_code    LowCardinality(String),
    member_type    LowCardinality(String),
    product        LowCardinality(String),
    purpose        LowCardinality(String),
    consent_ref    String,
    api_key_id     String,
    batch_id       String
)
ENGINE = Distributed('{cluster}', {database:String}, 'inquiries_local', cityHash64(borrower_key));

-- rejections: errors and warnings of rejected records; sharded by (member, load).
CREATE TABLE IF NOT EXISTS {database:Identifier}.rejections_local ON CLUSTER '{cluster}'
(
    load_id        String,
    member_code    LowCardinality(String),
    file_name      String,
    line           UInt32,
    account_id     String,
    field          LowCardinality(String),
    code           LowCardinality(String),
    severity       LowCardinality(String),       -- error | warning
    value_masked   String,                       -- identity fields masked by exchange.pseudonym
    message        String,
    created_at     DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/rejections', '{replica}')
ORDER BY (member_code, load_id, line, field, code);

CREATE TABLE IF NOT EXISTS {database:Identifier}.rejections ON CLUSTER '{cluster}'
(
    load_id        String,
    member_code    LowCardinality(String),
    file_name      String,
    line           UInt32,
    account_id     String,
    field          LowCardinality(String),
    code           LowCardinality(String),
    severity       LowCardinality(String),
    value_masked   String,
    message        String,
    created_at     DateTime64(3, 'UTC')
)
ENGINE = Distributed('{cluster}', {database:String}, 'rejections_local', cityHash64(member_code, load_id));

-- dq_daily: data quality per member and day; sharded by member.
CREATE TABLE IF NOT EXISTS {database:Identifier}.dq_daily_local ON CLUSTER '{cluster}'
(
    member_code    LowCardinality(String),
    day            Date,
    dimension      LowCardinality(String),       -- completeness | validity | timeliness | consistency | identity
    field          LowCardinality(String),       -- '' for file-level dimensions
    passed         UInt64,
    checked        UInt64,
    computed_at    DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/dq_daily', '{replica}', computed_at)
ORDER BY (member_code, day, dimension, field);

CREATE TABLE IF NOT EXISTS {database:Identifier}.dq_daily ON CLUSTER '{cluster}'
(
    member_code    LowCardinality(String),
    day            Date,
    dimension      LowCardinality(String),
    field          LowCardinality(String),
    passed         UInt64,
    checked        UInt64,
    computed_at    DateTime64(3, 'UTC')
)
ENGINE = Distributed('{cluster}', {database:String}, 'dq_daily_local', cityHash64(member_code));
