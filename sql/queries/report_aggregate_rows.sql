-- report_aggregate_rows: the rows of the given computations of report_aggregates
-- (reports.aggregates reads the current ones named by report_aggregate_stamps).
-- Parameters:
--   {generations:Array(String)}  computation ids
-- Result: every non-stamp row of those computations, in the order of the table's key (month,
-- kind, member_code, key1, key2, key3); columns as in sql/migrations/0004_report_aggregates.sql.
SELECT
    month,
    toString(kind) AS kind,
    toString(member_code) AS member_code,
    toString(key1) AS key1,
    toString(key2) AS key2,
    toString(key3) AS key3,
    borrowers,
    accounts,
    balance,
    accounts_30,
    balance_30,
    accounts_90,
    balance_90,
    balance_fen,
    members,
    as_of
FROM report_aggregates
WHERE is_stamp = 0 AND generation IN {generations:Array(String)}
ORDER BY month, kind, member_code, key1, key2, key3
