-- lookup_borrower: every row one multi-loan or time-series answer needs about one borrower, in
-- ONE round trip: the borrower's rows of borrower_lookup (accounts, month-end states; migration
-- 0006 has the layout) and of inquiry_counts, each a point read of one merged table ordered by
-- borrower. No FINAL: products.lookups.borrower keeps each identity's highest version and drops
-- it when that version is a delete (what FINAL would do), and takes each count's latest version.
-- Parameters: {key:String} borrower_key (64 hex).
-- Result: one row:
--   loans   Array(Tuple(kind Enum8, member_code, account_id, month Date, version UInt64,
--           is_deleted UInt8, member_type, product, name_hash, opened_date Date, closed_date Date,
--           credit_amount, balance, overdue_amount, scheduled_amount, paid_amount Decimal(18, 2),
--           dpd UInt16, status Enum8, as_of_date Date))  every stored version of every row
--   counts  Array(Tuple(day Date, member_code, member_type, product, purpose, night UInt8,
--           source String, slot DateTime, inquiries UInt32, first_at DateTime64(3), version UInt64))
SELECT
    (
        SELECT groupArray((kind, member_code, account_id, month, version, is_deleted, member_type,
                           product, name_hash, opened_date, closed_date, credit_amount, balance,
                           overdue_amount, scheduled_amount, paid_amount, dpd, status,
                           as_of_date))
        FROM borrower_lookup
        WHERE borrower_key = {key:String}
    ) AS loans,
    (
        SELECT groupArray((day, member_code, member_type, product, purpose, night, source, slot,
                           inquiries, first_at, version))
        FROM inquiry_counts
        WHERE borrower_key = {key:String}
    ) AS counts
-- one thread: a point read of a few granules gains nothing from more, and under concurrent
-- lookups fewer threads per query keep the 2-core p99 down (measured 4.0 vs 6.6 ms p99)
SETTINGS max_threads = 1
