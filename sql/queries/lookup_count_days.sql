-- lookup_count_days: the days whose inquiry counts are a partition of their own in borrower_lookup
-- (kind C rows not yet moved into the archive, migration 0014), for products.inquiry_log's fold:
-- it merges today's and moves the days before it into the archive.
-- Parameters: none.
-- Result: day Date, one row per day, oldest first.
SELECT DISTINCT as_of_date AS day
FROM borrower_lookup
WHERE kind = 'C' AND as_of_date > toDate(0)
ORDER BY day
