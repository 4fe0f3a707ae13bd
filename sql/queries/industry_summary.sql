-- industry_summary: headline figures of the whole industry for one month (demo summary,
-- dashboards' front page).
-- Parameters: {month:Date} any day of the month wanted (the month is toStartOfMonth of it).
-- Result: one row (zeros/NULL for a month without data):
--   report_month        Date     first day of the month
--   members_reporting   UInt64   members with at least one account state in the month
--   borrowers           UInt64   distinct borrowers with at least one open account at month end
--                                ("active borrowers", the denominator of multi-borrowing shares)
--   open_accounts       UInt64   accounts whose month-end status is NORMAL or OVERDUE
--   open_accounts_dpd30 UInt64   open accounts with dpd >= 30 at month end
--   dpd30_share         Nullable(Float64)  open_accounts_dpd30 / open_accounts (NULL if none)
--   months_available    UInt64   months with any snapshot up to and including this month
--
-- Deduplication: account_months FINAL, not argMax. The table is a
-- ReplacingMergeTree(version, is_deleted): FINAL applies both the version (a later as_of or a
-- correcting submission wins; a replayed load with the same load_seq counts once) and the delete
-- marker of D records, which argMax would have to re-implement column by column. The WHERE on
-- month prunes to one partition, and because the partition key (toYYYYMM(month)) is a function of
-- the sorting key, FINAL never needs to merge across partitions: the setting below says so and
-- lets each partition be finalised on its own thread.
-- An account not reported in a month has no row for it and is not counted in that month.
SELECT
    toStartOfMonth({month:Date}) AS report_month,
    uniqExact(member_code) AS members_reporting,
    uniqExactIf(borrower_key, status IN ('NORMAL', 'OVERDUE')) AS borrowers,
    countIf(status IN ('NORMAL', 'OVERDUE')) AS open_accounts,
    countIf(status IN ('NORMAL', 'OVERDUE') AND dpd >= 30) AS open_accounts_dpd30,
    if(open_accounts = 0, NULL, open_accounts_dpd30 / open_accounts) AS dpd30_share,
    (
        SELECT uniqExact(month)
        FROM account_months
        WHERE month <= toStartOfMonth({month:Date})
    ) AS months_available
FROM account_months FINAL
WHERE month = toStartOfMonth({month:Date})
SETTINGS do_not_merge_across_partitions_select_final = 1
