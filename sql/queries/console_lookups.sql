-- console_lookups: lookups of every member per China-time day and product (the operations
-- console's lookup volume).
-- Parameters: {from_day:Date} the first China-time day of the window.
-- Result: one row per day, member and product, ordered by day, member_code, product:
--   day          Date    China-time day of the lookups
--   member_code  String  the member that looked up
--   product      String  MULTI_LOAN | TIME_SERIES | BATCH | SELF | DISPUTE
--   units        UInt64  inquiries counted
-- Reads the inquiry log's merged counts (inquiry_counts, migration 0006: single lookups folded
-- by the minute every [api] inquiry_fold_seconds, batch jobs by job; the latest version of each
-- key), never the raw inquiries. The last minute or so of single lookups, not folded yet, is
-- counted at the next fold.
SELECT
    day,
    toString(member_code) AS member_code,
    toString(product) AS product,
    sum(inquiries) AS units
FROM inquiry_counts FINAL
WHERE day >= {from_day:Date}
GROUP BY day, member_code, product
ORDER BY day, member_code, product
