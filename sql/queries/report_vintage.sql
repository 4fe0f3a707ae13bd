-- report_vintage: accounts by origination quarter and the month on book at which each first went
-- 30+ and 90+ dpd, per member — the input of the vintage curves of a release
-- (reports.dynamics; definitions in docs/reports.md).
-- Parameters:
--   {first:Date}  first month of the series: only quarters that start on or after it are
--                 cohorts (their accounts' whole history is in the window)
--   {month:Date}  the release month (first day of a month): later months are not read, and only
--                 quarters complete by the end of it are cohorts
-- Result: one row per (cohort, member_code, mob_30, mob_90) with accounts > 0:
--   cohort       Date     first day of the origination quarter (of opened_date)
--   member_code  String   the institution reporting the account
--   mob_30       UInt16   months on book (month - opening month; the opening month is 0) at the
--                         first month end with dpd >= 30 or status WRITTEN_OFF; 65535 = never
--   mob_90       UInt16   the same for dpd >= 90 (or WRITTEN_OFF); 65535 = never
--   accounts     UInt64   accounts
--   amount       Decimal  their credit_amount (loan principal or credit limit, CNY): the
--                         originated amount the amount-based curve divides by
--
-- opened_date and credit_amount are the account's latest reported values (a correction wins);
-- rows whose opened_date is before {first} cannot belong to a cohort and are skipped before the
-- grouping (so an account whose opened_date is corrected across that line keeps only the rows
-- reported with a date on or after it).
-- Every month end counts, open or not, so an account that jumps from 1-29 straight to written off
-- is counted as 30+ and 90+ when it is written off. As in report_transitions, accounts are keyed
-- by two independent 64-bit hashes of (member_code, account_id).
WITH accounts AS (
    SELECT
        any(member_code) AS member,
        argMax(opened_date, month) AS opened,
        argMax(credit_amount, month) AS credit,
        countIf(dpd >= 30 OR status = 'WRITTEN_OFF') > 0 AS was_30,
        minIf(month, dpd >= 30 OR status = 'WRITTEN_OFF') AS first_30,
        countIf(dpd >= 90 OR status = 'WRITTEN_OFF') > 0 AS was_90,
        minIf(month, dpd >= 90 OR status = 'WRITTEN_OFF') AS first_90
    FROM account_months FINAL
    WHERE month >= {first:Date} AND month <= {month:Date} AND opened_date >= {first:Date}
    GROUP BY cityHash64(member_code, account_id), xxHash64(member_code, account_id)
    SETTINGS do_not_merge_across_partitions_select_final = 1
)
SELECT
    toStartOfQuarter(opened) AS cohort,
    toString(member) AS member_code,
    toUInt16(
        if(was_30, greatest(0, toRelativeMonthNum(first_30) - toRelativeMonthNum(opened)), 65535)
    ) AS mob_30,
    toUInt16(
        if(was_90, greatest(0, toRelativeMonthNum(first_90) - toRelativeMonthNum(opened)), 65535)
    ) AS mob_90,
    count() AS accounts,
    sum(credit) AS amount
FROM accounts
WHERE toStartOfQuarter(opened) >= {first:Date}
    AND addMonths(toStartOfQuarter(opened), 2) <= {month:Date}
GROUP BY cohort, member_code, mob_30, mob_90
ORDER BY cohort, member_code, mob_30, mob_90
