-- report_transitions: where the accounts open at one month end are at the next, per member — the
-- input of the roll-rate matrix, the flows into delinquency and the cure rate of a release
-- (reports.dynamics; definitions in docs/reports.md).
-- Parameters:
--   {first:Date}  first month of the series: transitions end in months {first} + 1 … {month}
--   {month:Date}  the release month (first day of a month)
-- Result: one row per (month, member_code, from_state, to_state) with accounts > 0:
--   month        Date     the month the transition ends in (its first day)
--   member_code  String   the institution reporting the account
--   from_state   UInt8    bucket at the previous month end, open accounts only: 0 current,
--                         1 = 1-29, 2 = 30-59, 3 = 60-89, 4 = 90-179, 5 = 180+ dpd
--   to_state     UInt8    state at this month end: 0-5 the same buckets (still open),
--                         6 CLOSED (paid in full), 7 SETTLED, 8 WRITTEN_OFF, 9 TRANSFERRED,
--                         10 not reported this month
--   accounts     UInt64   accounts making this transition
--   balance_fen  UInt64   their balance at the previous month end, in fen (CNY / 100, exact)
--
-- Method: each account's month-end rows (account_months FINAL) are gathered into one sorted array
-- of packed UInt64 values — month index (bits 56-63, months since {first}), state (bits 52-55) and
-- balance in fen (bits 0-51) — and consecutive entries are paired. This needs one hash
-- aggregation over accounts instead of a self-join of the table. The account key is the pair of
-- two independent 64-bit hashes of (member_code, account_id), so a wrong merge of two accounts
-- would need both hashes to collide (odds ~1e-24 for 10^7 accounts). The query refuses (throwIf)
-- a balance that does not fit in 52 bits of fen (> 45 trillion CNY) or a series longer than 255
-- months instead of packing them wrongly.
WITH histories AS (
    SELECT
        any(member_code) AS member,
        arraySort(
            groupArray(
                bitOr(
                    bitOr(bitShiftLeft(toUInt64(idx), 56), bitShiftLeft(toUInt64(state), 52)),
                    fen
                )
            )
        ) AS h
    FROM (
        SELECT
            member_code,
            cityHash64(member_code, account_id) AS key1,
            xxHash64(member_code, account_id) AS key2,
            toRelativeMonthNum(month) - toRelativeMonthNum({first:Date})
                + throwIf(
                    toRelativeMonthNum(month) - toRelativeMonthNum({first:Date}) > 255,
                    'report_transitions: series longer than 255 months'
                ) AS idx,
            multiIf(
                status IN ('NORMAL', 'OVERDUE'),
                multiIf(dpd = 0, 0, dpd < 30, 1, dpd < 60, 2, dpd < 90, 3, dpd < 180, 4, 5),
                status = 'CLOSED', 6,
                status = 'SETTLED', 7,
                status = 'WRITTEN_OFF', 8,
                status = 'TRANSFERRED', 9,
                15
            ) AS state,
            toUInt64(balance * 100)
                + throwIf(
                    balance < 0 OR balance >= 45035996273704.96,
                    'report_transitions: balance outside 0 … 45 trillion CNY'
                ) AS fen
        FROM account_months FINAL
        WHERE month >= {first:Date} AND month <= {month:Date}
        SETTINGS do_not_merge_across_partitions_select_final = 1
    )
    GROUP BY key1, key2
),
pairs AS (
    SELECT
        member,
        bitShiftRight(h[i], 56) AS prev_idx,
        bitAnd(bitShiftRight(h[i], 52), 15) AS prev_state,
        bitAnd(h[i], 4503599627370495) AS prev_fen,
        if(
            i < length(h) AND bitShiftRight(h[i + 1], 56) = prev_idx + 1,
            bitAnd(bitShiftRight(h[i + 1], 52), 15),
            10
        ) AS next_state
    FROM histories
    ARRAY JOIN arrayEnumerate(h) AS i
)
SELECT
    addMonths({first:Date}, toInt32(prev_idx) + 1) AS month,
    toString(member) AS member_code,
    toUInt8(prev_state) AS from_state,
    toUInt8(next_state) AS to_state,
    count() AS accounts,
    sum(prev_fen) AS balance_fen
FROM pairs
WHERE prev_state <= 5
    AND prev_idx + 1 <= toRelativeMonthNum({month:Date}) - toRelativeMonthNum({first:Date})
GROUP BY month, member_code, from_state, to_state
ORDER BY month, member_code, from_state, to_state
