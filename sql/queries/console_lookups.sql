-- console_lookups: lookups of every member per China-time day and product (the operations
-- console's lookup volume).
-- Parameters: {from_ts:String} the UTC instant 'YYYY-MM-DD HH:MM:SS' where the first day starts
--   (China time, UTC+8).
-- Result: one row per day, member and product, ordered by day, member_code, product:
--   day          Date    China-time day of the lookups
--   member_code  String  the member that looked up
--   product      String  MULTI_LOAN | TIME_SERIES | BATCH | SELF | DISPUTE
--   units        UInt64  lookups (uniqExact(inquiry_id): journal replays never count twice)
-- Reads the month partitions of the window only (inquiries is partitioned by month).
SELECT
    toDate(queried_at, 'Asia/Shanghai') AS day,
    toString(member_code) AS member_code,
    toString(product) AS product,
    uniqExact(inquiry_id) AS units
FROM inquiries
WHERE queried_at >= toDateTime64({from_ts:String}, 3, 'UTC')
GROUP BY day, member_code, product
ORDER BY day, member_code, product
