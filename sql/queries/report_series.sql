-- report_series: the industry's open book at every month end by dpd bucket, one row per member —
-- the input of the headline series of a delinquency release (reports.statistics; definitions in
-- docs/reports.md).
-- Parameters:
--   {first:Date}  first month of the series (first day of a month)
--   {month:Date}  the release month (first day of a month); later months are not read
-- Result: one row per (month, member_code, bucket) with accounts > 0:
--   month        Date     first day of the month
--   dimension    String   always 'industry' (the same row shape as report_segments)
--   value        String   always 'all'
--   member_code  String   the contributing institution (for the disclosure rule)
--   bucket       UInt8    0 current (dpd 0), 1 = 1-29, 2 = 30-59, 3 = 60-89, 4 = 90-179, 5 = 180+
--   accounts     UInt64   open accounts at month end
--   balance      Decimal  their outstanding balance (CNY)
--
-- Open account: month-end status NORMAL or OVERDUE. Rows come from account_months FINAL: the
-- ReplacingMergeTree(version, is_deleted) keeps the last state of each account in each month (a
-- later as_of, or a correcting submission, wins; D records remove it). An account without a
-- report in a month has no row and is not counted in that month. FINAL never merges across
-- partitions (the partition key is a function of the sorting key), so each month is finalised
-- on its own.
SELECT
    month,
    'industry' AS dimension,
    'all' AS value,
    toString(member_code) AS member_code,
    toUInt8(multiIf(dpd = 0, 0, dpd < 30, 1, dpd < 60, 2, dpd < 90, 3, dpd < 180, 4, 5)) AS bucket,
    count() AS accounts,
    sum(balance) AS balance
FROM account_months FINAL
WHERE month >= {first:Date} AND month <= {month:Date} AND status IN ('NORMAL', 'OVERDUE')
GROUP BY month, member_code, bucket
ORDER BY month, member_code, bucket
SETTINGS do_not_merge_across_partitions_select_final = 1
