-- inquiry_summary_build: write one generation of inquiry_summary (migration 0015,
-- products.inquiry_summary): per borrower, the applications of every China-time day from
-- {first_day} until {through}, per member, each inquiry id counted once (journal replays and a
-- batch job run again log the same ids). Self-inquiries and dispute lookups are not applications.
-- Synchronous on a cluster, so the generation is whole before it is recorded.
-- Parameters: {through:String} the generation, a China-time midnight as UTC text
--   'YYYY-MM-DD hh:mm:ss'; {since:String} the first day's China-time midnight, the same way.
-- Result: none (INSERT … SELECT).
INSERT INTO inquiry_summary
SETTINGS insert_distributed_sync = 1
SELECT borrower_key, toDateTime({through:String}, 'UTC') AS through, groupArray(day) AS days,
       groupArray(member_code) AS members, groupArray(n) AS inquiries
FROM (
    SELECT borrower_key, toDate(queried_at, 'Asia/Shanghai') AS day, member_code,
           toUInt32(uniqExact(inquiry_id)) AS n
    FROM inquiries
    WHERE queried_at >= toDateTime64({since:String}, 3, 'UTC')
      AND queried_at < toDateTime64({through:String}, 3, 'UTC')
      AND product NOT IN ('SELF', 'DISPUTE')
    GROUP BY borrower_key, day, member_code
)
GROUP BY borrower_key
-- inquiries is ordered by borrower: both groupings stream, holding one borrower's groups at a time
SETTINGS optimize_aggregation_in_order = 1
