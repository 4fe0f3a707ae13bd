-- report_vintage_month: one month's contribution to the vintage curves, per member — the rows
-- reports.aggregates keeps per month so that a release need not read every account's history
-- (report_vintage gives the same curves from the whole window; docs/reports.md).
-- Parameters:
--   {month:Date}                 the month (first day of a month)
--   {generation:String}          the generation of this month's report_account_events
--   {before:Array(String)}       the current generations of every earlier month's events
-- Result: one row per (cohort, member_code, kind, mob) with accounts > 0:
--   cohort       Date     first day of the origination quarter of opened_date
--   member_code  String   the institution reporting the account
--   kind         String   'accounts'  first reported this month (no 'arrival' event earlier):
--                                     it joins its cohort, with its credit amount
--                         '30', '90'  30+ (90+) or written off at this month end and never at an
--                                     earlier one: the first such month
--                         'irregular' back after a gap (an earlier 'arrival'), or an 'irregular'
--                                     event this month; cohort = of the latest opened_date seen
--   mob          UInt16   months on book of this month (greatest(0, month - opening month)) for
--                         '30' and '90'; 0 otherwise
--   accounts     UInt64   accounts
--   amount       Decimal  their credit_amount (this month's)
-- Summed over the months up to a release, the 'accounts', '30' and '90' rows of a cohort are
-- exactly report_vintage's curves as long as no 'irregular' row of the cohort exists up to the
-- release month (every account then has one opened_date and credit_amount, and states from its
-- opening month on without gaps); reports.aggregates falls back to report_vintage otherwise.
WITH
    this AS (
        SELECT event, member_code, key1, key2, d30, d90, opened_date, credit_amount
        FROM report_account_events
        WHERE month = {month:Date} AND generation = {generation:String}
    ),
    earlier AS (
        SELECT
            key1,
            key2,
            max(event = 'arrival') AS arrived,
            maxIf(opened_date, event = 'arrival') AS arrived_opened,
            max(d30) AS was_30,
            max(d90) AS was_90
        FROM report_account_events
        WHERE month < {month:Date}
            AND generation IN {before:Array(String)}
            AND (key1, key2) IN (SELECT key1, key2 FROM this)
        GROUP BY key1, key2
    )
SELECT
    toStartOfQuarter(part.3) AS cohort,
    toString(t.member_code) AS member_code,
    part.1 AS kind,
    part.2 AS mob,
    count() AS accounts,
    sum(t.credit_amount) AS amount
FROM this AS t
LEFT JOIN earlier AS e ON t.key1 = e.key1 AND t.key2 = e.key2
ARRAY JOIN
    arrayFilter(
        x -> x.1 != '',
        [
            (if(t.event = 'arrival' AND NOT e.arrived, 'accounts', ''), toUInt16(0), t.opened_date),
            (
                if(t.event = 'arrival' AND e.arrived, 'irregular', ''),
                toUInt16(0),
                greatest(t.opened_date, e.arrived_opened)
            ),
            (if(t.event = 'late' AND t.d30 AND NOT e.was_30, '30', ''), toUInt16(greatest(0, toRelativeMonthNum({month:Date}) - toRelativeMonthNum(t.opened_date))), t.opened_date),
            (if(t.event = 'late' AND t.d90 AND NOT e.was_90, '90', ''), toUInt16(greatest(0, toRelativeMonthNum({month:Date}) - toRelativeMonthNum(t.opened_date))), t.opened_date),
            (if(t.event = 'irregular', 'irregular', ''), toUInt16(0), t.opened_date)
        ]
    ) AS part
GROUP BY cohort, member_code, kind, mob
ORDER BY cohort, member_code, kind, mob
SETTINGS join_use_nulls = 0
