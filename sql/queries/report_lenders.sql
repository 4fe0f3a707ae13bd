-- report_lenders: the open book of the release month by the borrower's number of lenders, per
-- member — delinquency by number of lenders (reports.statistics; docs/reports.md).
-- Parameters:
--   {month:Date}  the release month (first day of a month)
-- Result: one row per (band, member_code):
--   band         String   the borrower's number of institutions with an open account at month
--                         end: '1', '2', '3-4', '5+'
--   member_code  String   an institution holding open accounts of borrowers in the band
--   borrowers    UInt64   borrowers of the band counted at one of their institutions only (the
--                         first in member_code order), so that the sum over member_code is the
--                         band's number of distinct borrowers; per member it means nothing
--   accounts, balance        open accounts of the band's borrowers at this member, their balance
--   accounts_30, balance_30  of which dpd >= 30
--   accounts_90, balance_90  of which dpd >= 90
-- Open account: status NORMAL or OVERDUE at month end (account_months FINAL).
WITH per_pair AS (
    SELECT
        borrower_key,
        toString(member_code) AS member,
        count() AS n,
        sum(balance) AS b,
        countIf(dpd >= 30) AS n30,
        sumIf(balance, dpd >= 30) AS b30,
        countIf(dpd >= 90) AS n90,
        sumIf(balance, dpd >= 90) AS b90
    FROM account_months FINAL
    WHERE month = {month:Date} AND status IN ('NORMAL', 'OVERDUE')
    GROUP BY borrower_key, member
    SETTINGS do_not_merge_across_partitions_select_final = 1
),
per_borrower AS (
    SELECT
        borrower_key,
        count() AS lenders,
        arraySort(x -> x.1, groupArray((member, n, b, n30, b30, n90, b90))) AS parts
    FROM per_pair
    GROUP BY borrower_key
)
SELECT
    multiIf(lenders = 1, '1', lenders = 2, '2', lenders <= 4, '3-4', '5+') AS band,
    part.1 AS member_code,
    toUInt64(countIf(pos = 1)) AS borrowers,
    toUInt64(sum(part.2)) AS accounts,
    sum(part.3) AS balance,
    toUInt64(sum(part.4)) AS accounts_30,
    sum(part.5) AS balance_30,
    toUInt64(sum(part.6)) AS accounts_90,
    sum(part.7) AS balance_90
FROM per_borrower
ARRAY JOIN parts AS part, arrayEnumerate(parts) AS pos
GROUP BY band, member_code
ORDER BY band, member_code
