-- usage_daily: metered usage of one member, per China-time day and product (products.metering).
-- The inquiries table is the one source of truth: every lookup (single or batch) is one row.
-- Parameters: {member:String} member code; {from_ts:String} and
--   {to_ts:String} the UTC instants where the first day starts and after the last
--   day ends (China time, UTC+8).
--   Instants are UTC text 'YYYY-MM-DD HH:MM:SS' (a DateTime64 parameter would be read in the
--   server's time zone).
-- Result: one row per day and product, ordered by both:
--   day      Date    China-time day of the lookups
--   product  String  MULTI_LOAN | TIME_SERIES | BATCH | SELF | DISPUTE
--   units    UInt64  lookups (a batch job: one per borrower); uniqExact(inquiry_id) so rows
--                    replayed from the journal never count twice
--   batches  UInt64  distinct batch jobs among them (0 for single lookups)
SELECT
    toDate(queried_at, 'Asia/Shanghai') AS day,
    toString(product) AS product,
    uniqExact(inquiry_id) AS units,
    uniqExactIf(batch_id, batch_id != '') AS batches
FROM inquiries
WHERE member_code = {member:String}
  AND queried_at >= toDateTime64({from_ts:String}, 3, 'UTC')
  AND queried_at < toDateTime64({to_ts:String}, 3, 'UTC')
GROUP BY day, product
ORDER BY day, product
