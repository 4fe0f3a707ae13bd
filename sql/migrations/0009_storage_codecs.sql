-- 0009 storage codecs (issue 16): ZSTD instead of the default LZ4 on the columns where it pays,
-- measured per column on the simulated industry (bench/warehouse_load.py; docs/benchmarks.md):
-- the 64-character hex digests (borrower_key, name_hash, mobile_hash) are random and only their
-- 4 bits per character compress — LZ4 leaves them at ~63 bytes a row, ZSTD's entropy coding at
-- ~30 —; account ids, load ids, consent refs, amounts, dates and small counts shrink by a third to
-- a half; the file line number, in order within a load, by Delta. LowCardinality and Enum columns
-- and loan_states.version (MATERIALIZED) keep their default. Types are unchanged.
-- A codec change is metadata only (no mutation): new parts are written with it, and existing
-- parts as the background merges rewrite them (OPTIMIZE … FINAL rewrites them at once).
-- The cluster variant is sql/cluster/0009_storage_codecs.sql (the same on the _local tables).

ALTER TABLE loan_states
    MODIFY COLUMN account_id String CODEC(ZSTD(1)),
    MODIFY COLUMN borrower_key FixedString(64) CODEC(ZSTD(1)),
    MODIFY COLUMN name_hash String CODEC(ZSTD(1)),
    MODIFY COLUMN mobile_hash String CODEC(ZSTD(1)),
    MODIFY COLUMN birth_year UInt16 CODEC(ZSTD(1)),
    MODIFY COLUMN opened_date Date CODEC(ZSTD(1)),
    MODIFY COLUMN maturity_date Nullable(Date) CODEC(ZSTD(1)),
    MODIFY COLUMN credit_amount Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN installments UInt16 CODEC(ZSTD(1)),
    MODIFY COLUMN balance Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN scheduled_amount Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN paid_amount Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN overdue_amount Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN overdue_principal Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN dpd UInt16 CODEC(ZSTD(1)),
    MODIFY COLUMN overdue_installments UInt16 CODEC(ZSTD(1)),
    MODIFY COLUMN closed_date Nullable(Date) CODEC(ZSTD(1)),
    MODIFY COLUMN five_class UInt8 CODEC(ZSTD(1)),
    MODIFY COLUMN consent_ref String CODEC(ZSTD(1)),
    MODIFY COLUMN negative_notice_date Nullable(Date) CODEC(ZSTD(1)),
    MODIFY COLUMN load_id String CODEC(ZSTD(1)),
    MODIFY COLUMN line UInt32 CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN flags Array(LowCardinality(String)) CODEC(ZSTD(1)),
    MODIFY COLUMN loaded_at DateTime64(3, 'UTC') CODEC(ZSTD(1));

ALTER TABLE accounts_current
    MODIFY COLUMN borrower_key FixedString(64) CODEC(ZSTD(1)),
    MODIFY COLUMN account_id String CODEC(ZSTD(1)),
    MODIFY COLUMN name_hash String CODEC(ZSTD(1)),
    MODIFY COLUMN load_id String CODEC(ZSTD(1)),
    MODIFY COLUMN version UInt64 CODEC(ZSTD(1));

ALTER TABLE account_months
    MODIFY COLUMN borrower_key FixedString(64) CODEC(ZSTD(1)),
    MODIFY COLUMN account_id String CODEC(ZSTD(1)),
    MODIFY COLUMN birth_year UInt16 CODEC(ZSTD(1)),
    MODIFY COLUMN opened_date Date CODEC(ZSTD(1)),
    MODIFY COLUMN credit_amount Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN balance Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN scheduled_amount Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN paid_amount Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN overdue_amount Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN dpd UInt16 CODEC(ZSTD(1)),
    MODIFY COLUMN overdue_installments UInt16 CODEC(ZSTD(1)),
    MODIFY COLUMN closed_date Nullable(Date) CODEC(ZSTD(1)),
    MODIFY COLUMN five_class UInt8 CODEC(ZSTD(1)),
    MODIFY COLUMN version UInt64 CODEC(ZSTD(1));

ALTER TABLE borrower_lookup
    MODIFY COLUMN borrower_key FixedString(64) CODEC(ZSTD(1)),
    MODIFY COLUMN account_id String CODEC(ZSTD(1)),
    MODIFY COLUMN name_hash String CODEC(ZSTD(1)),
    MODIFY COLUMN version UInt64 CODEC(ZSTD(1)),
    MODIFY COLUMN balance Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN scheduled_amount Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN paid_amount Decimal(18, 2) CODEC(ZSTD(1));
