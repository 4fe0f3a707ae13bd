-- lab_extract_month_rows: rows stored per month in a data-laboratory project's months, before
-- deduplication (sandbox.extract sizes its reads by them: an upper bound of what FINAL returns).
-- Parameters:
--   {first:Date}  the project's first month (first day of a month)
--   {last:Date}   the project's last month (first day of a month)
-- Result: one row per month that has rows, in order:
--   month  Date    first day of the month
--   rows   UInt64  rows stored (every version of every account)
SELECT month, count() AS rows
FROM account_months
WHERE month >= {first:Date} AND month <= {last:Date}
GROUP BY month
ORDER BY month
