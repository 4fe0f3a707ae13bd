-- report_months: the months of data a release of {month} can draw on.
-- Parameters:
--   {month:Date}  the release month (first day of a month); later months are not listed
-- Result: one row per month up to {month} with at least one account state, oldest first:
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
WHERE month <= {month:Date}
GROUP BY month
ORDER BY month
SETTINGS do_not_merge_across_partitions_select_final = 1
