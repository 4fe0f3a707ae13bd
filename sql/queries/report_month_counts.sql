-- report_month_counts: report_months for the months {first} … {month} only (each month's row is
-- the same as report_months gives it) — what reports.aggregates keeps per month.
-- Parameters:
--   {first:Date}  first month (first day of a month)
--   {month:Date}  last month (first day of a month)
-- Result: one row per month in the range with at least one account state, oldest first:
--   month     Date     first day of the month
--   members   UInt64   institutions with at least one account state in the month
--   accounts  UInt64   account states (open or ended) in the month
--   as_of     Date     the latest as_of_date among them
-- Read from account_months FINAL (see report_series).
SELECT
    month,
    uniqExact(member_code) AS members,
    count() AS accounts,
    max(as_of_date) AS as_of
FROM account_months FINAL
WHERE month >= {first:Date} AND month <= {month:Date}
GROUP BY month
ORDER BY month
SETTINGS do_not_merge_across_partitions_select_final = 1
