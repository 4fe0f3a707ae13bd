-- batch_inquiries: inquiry figures of every borrower of one batch job (products.batch): the
-- applications of the 7/30/90/365 days up to the as-of day. Self-inquiries and dispute lookups
-- are not applications and are left out, and so are the job's own inquiries: a job run again
-- after a crash finds the rows its first run logged (the same ids and time), and must answer
-- what the first run computed.
-- The days before {through} come from the inquiry summary (migration 0015,
-- products.inquiry_summary: one row per borrower and generation), the inquiries from {through}
-- on from inquiries; the two never overlap, so the counts add up and each inquiry id is counted
-- once (journal replays never double-count). {through} is the newest generation when it holds
-- the 365-day window's first day; else the window's first instant {d365}, whose generation —
-- none, or one holding only days before the window — adds nothing: every inquiry then comes
-- from inquiries, as before the summary existed (and faster than that query's own form: 107
-- against 142 ms for a 96k job over 1.65M inquiries, docs/benchmarks.md).
-- Parameters: {job:String} job id; {source:Identifier} inquiries, or inquiries_recent when it holds
--   every inquiry from the later of {through} and {d365} on (migration 0019,
--   products.inquiry_log.inquiry_source: the days after a nightly generation are then read from
--   their day partitions, not the month's; 104 against 502 ms for a 100k job in a month of 30M
--   inquiries); {through:String} as above (UTC text 'YYYY-MM-DD hh:mm:ss', a
--   China-time midnight); {as_of:Date} the as-of day; {day7:Date}, {day30:Date}, {day90:Date},
--   {day365:Date} the as-of day minus 7/30/90/365 days (a day d is in window N iff
--   as_of - N < d <= as_of); {until:String} the end of the as-of day (China time) and {d7:String},
--   {d30:String}, {d90:String}, {d365:String} the windows' first instants, as UTC text (a
--   DateTime64 parameter would be read in the server's time zone).
-- Result: one row per borrower of the job with any inquiry in 365 days:
--   borrower_key, inquiries_7d, inquiry_institutions_7d, inquiries_1m, inquiries_3m, inquiries_12m
SELECT
    toString(borrower_key) AS borrower_key,
    sum(n7) AS inquiries_7d,
    length(groupUniqArrayArray(m7)) AS inquiry_institutions_7d,
    sum(n30) AS inquiries_1m,
    sum(n90) AS inquiries_3m,
    sum(n365) AS inquiries_12m
FROM (
    SELECT
        borrower_key,
        arraySum(arrayFilter((n, d) -> d > {day7:Date} AND d <= {as_of:Date}, inquiries, days))
            AS n7,
        arrayFilter((m, d) -> d > {day7:Date} AND d <= {as_of:Date}, members, days) AS m7,
        arraySum(arrayFilter((n, d) -> d > {day30:Date} AND d <= {as_of:Date}, inquiries, days))
            AS n30,
        arraySum(arrayFilter((n, d) -> d > {day90:Date} AND d <= {as_of:Date}, inquiries, days))
            AS n90,
        arraySum(arrayFilter((n, d) -> d > {day365:Date} AND d <= {as_of:Date}, inquiries, days))
            AS n365
    FROM inquiry_summary
    WHERE through = toDateTime({through:String}, 'UTC')
      AND borrower_key GLOBAL IN (SELECT borrower_key FROM batch_keys WHERE job_id = {job:String})
    UNION ALL
    -- a borrower's inquiries as one array, each window's distinct ids counted from it: what
    -- uniqExactIf(inquiry_id, …) counted, without four hash sets per borrower, whose cost grows
    -- with the inquiries in every window: 0.59 against 0.87 s for a job whose borrowers have 27
    -- inquiries each in the two days read here, 0.13 against 0.12 s at 1 each (docs/benchmarks.md)
    SELECT
        borrower_key,
        length(arrayDistinct(arrayFilter((i, q) -> q >= toDateTime64({d7:String}, 3, 'UTC'),
                                         logged.1, logged.2))) AS n7,
        arrayDistinct(arrayFilter((m, q) -> q >= toDateTime64({d7:String}, 3, 'UTC'),
                                  logged.3, logged.2)) AS m7,
        length(arrayDistinct(arrayFilter((i, q) -> q >= toDateTime64({d30:String}, 3, 'UTC'),
                                         logged.1, logged.2))) AS n30,
        length(arrayDistinct(arrayFilter((i, q) -> q >= toDateTime64({d90:String}, 3, 'UTC'),
                                         logged.1, logged.2))) AS n90,
        length(arrayDistinct(logged.1)) AS n365
    FROM (
        SELECT borrower_key, groupArray((inquiry_id, queried_at, member_code)) AS logged
        FROM {source:Identifier}
        WHERE borrower_key GLOBAL IN (SELECT borrower_key FROM batch_keys
                                      WHERE job_id = {job:String})
          AND queried_at >= greatest(toDateTime64({d365:String}, 3, 'UTC'),
                                     toDateTime64({through:String}, 3, 'UTC'))
          AND queried_at < toDateTime64({until:String}, 3, 'UTC')
          AND product NOT IN ('SELF', 'DISPUTE')
          AND batch_id != {job:String}
        GROUP BY borrower_key
    )
)
GROUP BY borrower_key
HAVING inquiries_12m > 0
