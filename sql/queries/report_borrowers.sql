-- report_borrowers: multi-borrowing prevalence each month — active borrowers and those with open
-- accounts at 3 or more and 5 or more institutions (reports.statistics; docs/reports.md).
-- Parameters:
--   {first:Date}  first month of the series (first day of a month)
--   {month:Date}  the release month (first day of a month)
-- Result: one row per month with at least one open account:
--   month        Date     first day of the month
--   borrowers    UInt64   active borrowers: distinct borrower_key with an open account
--                         (status NORMAL or OVERDUE) at month end
--   lenders_3    UInt64   active borrowers with open accounts at >= 3 distinct institutions
--   lenders_5    UInt64   the same with >= 5
-- Read from account_months FINAL (see report_series for what that keeps).
SELECT
    month,
    count() AS borrowers,
    countIf(lenders >= 3) AS lenders_3,
    countIf(lenders >= 5) AS lenders_5
FROM (
    SELECT month, borrower_key, uniqExact(member_code) AS lenders
    FROM account_months FINAL
    WHERE month >= {first:Date} AND month <= {month:Date} AND status IN ('NORMAL', 'OVERDUE')
    GROUP BY month, borrower_key
    SETTINGS do_not_merge_across_partitions_select_final = 1
)
GROUP BY month
ORDER BY month
