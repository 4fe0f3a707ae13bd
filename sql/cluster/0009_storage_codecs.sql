-- 0009 storage codecs, cluster variant of sql/migrations/0009_storage_codecs.sql: the same
-- codecs on the local (replicated) tables, which store the rows; the Distributed tables store
-- nothing and keep their columns as they are.

ALTER TABLE {database:Identifier}.loan_states_local ON CLUSTER '{cluster}'
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

ALTER TABLE {database:Identifier}.accounts_current_local ON CLUSTER '{cluster}'
    MODIFY COLUMN borrower_key FixedString(64) CODEC(ZSTD(1)),
    MODIFY COLUMN account_id String CODEC(ZSTD(1)),
    MODIFY COLUMN name_hash String CODEC(ZSTD(1)),
    MODIFY COLUMN load_id String CODEC(ZSTD(1)),
    MODIFY COLUMN version UInt64 CODEC(ZSTD(1));

ALTER TABLE {database:Identifier}.account_months_local ON CLUSTER '{cluster}'
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

ALTER TABLE {database:Identifier}.borrower_lookup_local ON CLUSTER '{cluster}'
    MODIFY COLUMN borrower_key FixedString(64) CODEC(ZSTD(1)),
    MODIFY COLUMN account_id String CODEC(ZSTD(1)),
    MODIFY COLUMN name_hash String CODEC(ZSTD(1)),
    MODIFY COLUMN version UInt64 CODEC(ZSTD(1)),
    MODIFY COLUMN balance Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN scheduled_amount Decimal(18, 2) CODEC(ZSTD(1)),
    MODIFY COLUMN paid_amount Decimal(18, 2) CODEC(ZSTD(1));
