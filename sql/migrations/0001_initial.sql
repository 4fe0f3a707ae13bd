-- 0001 initial schema of the exchange warehouse (single node / chDB).
-- Cluster variants of the same tables live in sql/cluster/ (Replicated* + Distributed).
--
-- Conventions
-- * No raw identity number, name or mobile anywhere: borrower_key, name_hash and mobile_hash are
--   HMAC-SHA256 hex digests made by exchange.pseudonym.
-- * Money is Decimal(18, 2): exact to the fen.
-- * Replacing tables make loading idempotent: replaying a submission writes the same key with the
--   same version, so a crash-and-retry never counts a record twice (read with FINAL or argMax).
-- * version = (days since 1970 of as_of_date) << 40 | load_seq: a later as_of wins; for the same
--   as_of a later submission (a correction) wins.
-- * Tables that lookups read by borrower are ordered by borrower_key first.

-- One row per received file (data or batch); rewritten as its status moves.
CREATE TABLE IF NOT EXISTS submissions
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
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (member_code, sha256, load_id);

-- Every accepted record, as received (pseudonymised).
CREATE TABLE IF NOT EXISTS loan_states
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
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(as_of_date)
ORDER BY (member_code, account_id, as_of_date);

-- Latest state of every account, for lookups by borrower.
CREATE TABLE IF NOT EXISTS accounts_current
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
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (borrower_key, member_code, account_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS accounts_current_mv TO accounts_current AS
SELECT
    borrower_key, member_code, account_id, member_type, name_hash, id_type, province, birth_year,
    product, guarantee, opened_date, maturity_date, currency, credit_amount, installments, balance,
    scheduled_amount, paid_amount, overdue_amount, overdue_principal, dpd, overdue_installments,
    status, closed_date, five_class, as_of_date, load_id,
    bitOr(bitShiftLeft(toUInt64(toUInt16(as_of_date)), 40), load_seq) AS version,
    toUInt8(record_type = 'D') AS is_deleted
FROM loan_states;

-- Month-end snapshot: the last state of each account in each month (time series, statistics).
CREATE TABLE IF NOT EXISTS account_months
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
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(month)
ORDER BY (borrower_key, member_code, account_id, month);

CREATE MATERIALIZED VIEW IF NOT EXISTS account_months_mv TO account_months AS
SELECT
    toStartOfMonth(as_of_date) AS month, borrower_key, member_code, account_id, member_type,
    province, birth_year, product, guarantee, opened_date, credit_amount, balance,
    scheduled_amount, paid_amount, overdue_amount, dpd, overdue_installments, status, closed_date,
    five_class, as_of_date,
    bitOr(bitShiftLeft(toUInt64(toUInt16(as_of_date)), 40), load_seq) AS version,
    toUInt8(record_type = 'D') AS is_deleted
FROM loan_states;

-- Every lookup (single and batch): an application signal in later multi-loan answers.
CREATE TABLE IF NOT EXISTS inquiries
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
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(queried_at)
ORDER BY (borrower_key, queried_at, inquiry_id);

-- Every rejected record's errors (and warnings), as written to the member's errors.csv.
CREATE TABLE IF NOT EXISTS rejections
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
ENGINE = ReplacingMergeTree
ORDER BY (member_code, load_id, line, field, code);

-- Data quality per member, day, dimension and field (ingest computes; jdx dq show reads).
CREATE TABLE IF NOT EXISTS dq_daily
(
    member_code    LowCardinality(String),
    day            Date,
    dimension      LowCardinality(String),       -- completeness | validity | timeliness | consistency | identity
    field          LowCardinality(String),       -- '' for file-level dimensions
    passed         UInt64,
    checked        UInt64,
    computed_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (member_code, day, dimension, field);
