-- batch_inquiries: inquiry figures of every borrower of one batch job (products.batch).
-- Parameters: {job:String} job id; {until:String} end of the as-of day (China
--   time); {d7:String}, {d30:String}, {d90:String}, {d365:String} starts of the 7/30/90/365-day
--   windows. Self-inquiries and dispute lookups are not applications and are left out, and so
--   are the job's own inquiries: a job run again after a crash finds the rows its first run
--   logged (the same ids and time), and must answer what the first run computed.
--   Instants are UTC text 'YYYY-MM-DD HH:MM:SS' (a DateTime64 parameter would be read in the
--   server's time zone).
-- Result: one row per borrower of the job with any inquiry in 365 days:
--   borrower_key, inquiries_7d, inquiry_institutions_7d, inquiries_1m, inquiries_3m,
--   inquiries_12m (each inquiry_id counted once: journal replays never double-count)
SELECT
    toString(borrower_key) AS borrower_key,
    uniqExactIf(inquiry_id, queried_at >= toDateTime64({d7:String}, 3, 'UTC')) AS inquiries_7d,
    uniqExactIf(member_code, queried_at >= toDateTime64({d7:String}, 3, 'UTC')) AS inquiry_institutions_7d,
    uniqExactIf(inquiry_id, queried_at >= toDateTime64({d30:String}, 3, 'UTC')) AS inquiries_1m,
    uniqExactIf(inquiry_id, queried_at >= toDateTime64({d90:String}, 3, 'UTC')) AS inquiries_3m,
    uniqExact(inquiry_id) AS inquiries_12m
FROM inquiries
WHERE borrower_key GLOBAL IN (SELECT borrower_key FROM batch_keys WHERE job_id = {job:String})
  AND queried_at >= toDateTime64({d365:String}, 3, 'UTC')
  AND queried_at < toDateTime64({until:String}, 3, 'UTC')
  AND product NOT IN ('SELF', 'DISPUTE')
  AND batch_id != {job:String}
GROUP BY borrower_key
