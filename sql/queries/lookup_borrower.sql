-- lookup_borrower: every row one multi-loan or time-series answer needs about one borrower, in
-- ONE read of ONE table (lookup_rows, migration 0003: why and the payload layouts are there).
-- No FINAL: products.lookups.borrower keeps each identity's highest version and drops it when
-- that version is a delete, exactly what FINAL would do, at a fraction of the cost of a point read.
-- Parameters: {key:String} borrower_key (64 hex).
-- Result: one row per stored version:
--   kind        String  A (account current state), M (month-end state), Q (inquiry)
--   version     UInt64  the loader's version (days(as_of) << 40 | load_seq); 0 for inquiries
--   is_deleted  UInt8   1 for a D record's tombstone
--   payload     String  JSON array of the row's fields (layouts in 0003_products.sql)
SELECT kind, version, is_deleted, payload
FROM lookup_rows
WHERE borrower_key = {key:String}
-- one thread: a point read of a few granules gains nothing from more, and under concurrent
-- lookups fewer threads per query keep the 2-core p99 down (measured 4.0 vs 6.6 ms p99)
SETTINGS max_threads = 1
