-- report_fingerprints: a fingerprint of each month's account states, to tell whether a month's
-- cached aggregates (report_aggregates, reports.aggregates) still describe its data.
-- Parameters:
--   {month:Date}  the release month (first day of a month); later months are not listed
-- Result: one row per month up to {month} with at least one stored row, oldest first:
--   month     Date     first day of the month
--   rows      UInt64   stored rows of the month (before FINAL deduplication)
--   checksum  UInt64   sum (mod 2^64) of cityHash64(version, is_deleted) over those rows
--   top       UInt64   their largest version
-- Every change of a month's data is an insert (a new or correcting state, a D tombstone), which
-- adds rows: the row count grows until a merge removes the replaced rows, and then the replaced
-- rows' versions leave the checksum while the winners' stay (a replacing row always has another
-- version, except a replay of the same load, which writes the same data). A merge alone may
-- also change the fingerprint (fewer rows): the month is then computed once more — wasted work,
-- never a wrong figure. Reads two narrow columns and no sorting key, so it costs a fraction of
-- one scan of the month.
SELECT
    month,
    count() AS rows,
    sum(cityHash64(version, is_deleted)) AS checksum,
    max(version) AS top
FROM account_months
WHERE month <= {month:Date}
GROUP BY month
ORDER BY month
