-- batch_inquiries_summary: batch_inquiries' figures from the inquiry summary (migration 0015,
-- products.inquiry_summary): the days before the generation {through} from inquiry_summary (one
-- row per borrower), the inquiries from {through} on from inquiries; the two never overlap, so
-- the counts add up and each inquiry id is counted once, as in batch_inquiries. Used when the
-- generation holds the 365-day window's first day (products.batch). The job's own inquiries are
-- left out, as in batch_inquiries.
-- Parameters: {job:String} job id; {through:String} the generation (UTC text
--   'YYYY-MM-DD hh:mm:ss', a China-time midnight); {as_of:Date} the as-of day; {day7:Date},
--   {day30:Date}, {day90:Date}, {day365:Date} the as-of day minus 7/30/90/365 days (a day d is in
--   window N iff as_of - N < d <= as_of); {until:String}, {d7:String}, {d30:String}, {d90:String},
--   {d365:String} the same bounds as instants (UTC text, as batch_inquiries takes them).
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
    SELECT
        borrower_key,
        uniqExactIf(inquiry_id, queried_at >= toDateTime64({d7:String}, 3, 'UTC')) AS n7,
        groupUniqArrayIf(member_code, queried_at >= toDateTime64({d7:String}, 3, 'UTC')) AS m7,
        uniqExactIf(inquiry_id, queried_at >= toDateTime64({d30:String}, 3, 'UTC')) AS n30,
        uniqExactIf(inquiry_id, queried_at >= toDateTime64({d90:String}, 3, 'UTC')) AS n90,
        uniqExact(inquiry_id) AS n365
    FROM inquiries
    WHERE borrower_key GLOBAL IN (SELECT borrower_key FROM batch_keys WHERE job_id = {job:String})
      AND queried_at >= greatest(toDateTime64({d365:String}, 3, 'UTC'),
                                 toDateTime64({through:String}, 3, 'UTC'))
      AND queried_at < toDateTime64({until:String}, 3, 'UTC')
      AND product NOT IN ('SELF', 'DISPUTE')
      AND batch_id != {job:String}
    GROUP BY borrower_key
)
GROUP BY borrower_key
HAVING inquiries_12m > 0
