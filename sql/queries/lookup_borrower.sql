-- lookup_borrower: every row one multi-loan or time-series answer needs about one borrower, in
-- ONE round trip and one read: the borrower's rows of borrower_lookup (ordered by borrower,
-- compact parts; migrations 0006, 0007 and 0018 have the layout) — accounts (kind A), month-end
-- states (kind M) and inquiry counts (kind C, copied from inquiry_counts). Seven columns: a row's
-- identity and its figures packed in `payload` (0018: the read's cost is the columns it opens).
-- No FINAL: products.lookups.borrower keeps each identity's highest version and drops it when that
-- version is a delete (what FINAL would do).
-- Parameters: {key:String} borrower_key (64 hex).
-- Result: one row:
--   rows  Array(Tuple(kind Enum8, member_code, account_id, month Date, version UInt64,
--         is_deleted UInt8, payload String)) every stored version of every row (a C row's
--         account_id is the rest of its count's identity,
--         'member_type|product|purpose|night|source|slot', slot in Unix seconds; the payload's
--         fields per kind are in migration 0018)
SELECT groupArray((kind, member_code, account_id, month, version, is_deleted, payload)) AS rows
FROM borrower_lookup
WHERE borrower_key = {key:String}
-- one thread: a point read of a few granules gains nothing from more, and under concurrent
-- lookups fewer threads per query keep the 2-core p99 down (measured 4.0 vs 6.6 ms p99)
SETTINGS max_threads = 1
