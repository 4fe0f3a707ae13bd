-- report_account_events_fill: write one month's account events (what later months' vintage rows
-- need; see sql/migrations/0004_report_aggregates.sql) — a statement run by reports.aggregates.
-- Parameters:
--   {month:Date}          the month (first day of a month)
--   {generation:String}   the id the rows are written under (then stamped in report_aggregates)
-- Result: none; inserts into report_account_events one row per (account with a state this
-- month, event):
--   'late'       dpd >= 30 (d30) or >= 90 (d90), or WRITTEN_OFF (both), at the month end
--   'arrival'    no state in the month before
--   'irregular'  two states this month, opened_date or credit_amount other than the month
--                before, or the month before the opening month; opened_date = the latest
--                opened_date of the account's states of both months
-- opened_date and credit_amount are the month's. Reads account_months FINAL for this month and
-- the month before, accounts keyed as in report_vintage (two 64-bit hashes).
INSERT INTO report_account_events
    (month, generation, event, member_code, key1, key2, d30, d90, opened_date, credit_amount)
SELECT
    {month:Date},
    {generation:String},
    event,
    member,
    k1,
    k2,
    d30,
    d90,
    if(event = 'irregular', latest_opened, opened),
    credit
FROM (
    SELECT
        cityHash64(member_code, account_id) AS k1,
        xxHash64(member_code, account_id) AS k2,
        any(member_code) AS member,
        countIf(month = {month:Date}) AS here,
        countIf(month < {month:Date}) AS before,
        min(opened_date) != max(opened_date) OR min(credit_amount) != max(credit_amount) AS changed,
        anyIf(opened_date, month = {month:Date}) AS opened,
        anyIf(credit_amount, month = {month:Date}) AS credit,
        max(opened_date) AS latest_opened,
        toUInt8(maxIf(dpd >= 30 OR status = 'WRITTEN_OFF', month = {month:Date})) AS d30,
        toUInt8(maxIf(dpd >= 90 OR status = 'WRITTEN_OFF', month = {month:Date})) AS d90
    FROM account_months FINAL
    WHERE month >= addMonths({month:Date}, -1) AND month <= {month:Date}
    GROUP BY k1, k2
    HAVING here > 0
    SETTINGS do_not_merge_across_partitions_select_final = 1
)
ARRAY JOIN
    arrayFilter(
        e -> e != '',
        [
            if(d30 OR d90, 'late', ''),
            if(before = 0, 'arrival', ''),
            if(here > 1 OR changed OR toStartOfMonth(opened) > {month:Date}, 'irregular', '')
        ]
    ) AS event
