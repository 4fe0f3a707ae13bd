-- lookup_counts_archive_day: copy one day's inquiry counts of borrower_lookup into the archive
-- partition (as_of_date 1970-01-01, every other column as it is; migration 0014); the caller then
-- drops the day's partition. Copied twice (a kill before the drop, then the move again), a row is
-- the same row: readers and the archive's merge keep it once. Synchronous on a cluster, so that
-- the copies are in place before the day's partition is dropped.
-- Parameters: {day:Date} the counts' day (its partition is toYYYYMMDD(day)).
-- Result: none (INSERT … SELECT).
INSERT INTO borrower_lookup
SETTINGS insert_distributed_sync = 1
SELECT * REPLACE (toDate(0) AS as_of_date)
-- (filtered in a subquery: in the outer query as_of_date would be the alias, 1970-01-01)
FROM (SELECT * FROM borrower_lookup WHERE kind = 'C' AND as_of_date = {day:Date})
