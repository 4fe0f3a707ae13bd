-- console_lookup_outcomes: how the API's lookup routes answered per China-time day, member,
-- route, HTTP status and error code (the operations console's refusals and latency).
-- Parameters: {from_slot:String} the UTC minute 'YYYY-MM-DD HH:MM:SS' the window starts at.
-- Result: one row per day, member_code, route, status and code, ordered by them:
--   day          Date           China-time day of the answers
--   member_code  String         the caller's member ('' when its key was not recognised)
--   route        String         multi-loan | time-series | batch
--   status       UInt16         HTTP status
--   code         String         '' for an answer, else the refusal's error code
--   requests     UInt64         requests
--   total_ms     Float64        their total time, ms
--   buckets      Array(UInt64)  latency histogram over products.meter.BOUNDS_MS
-- Reads lookup_outcomes (migration 0008: per-minute increments written by products.meter),
-- only the month partitions of the window; never a row per request.
SELECT
    toDate(slot, 'Asia/Shanghai') AS day,
    toString(member_code) AS member_code,
    toString(route) AS route,
    status,
    toString(code) AS code,
    sum(requests) AS requests,
    sum(total_ms) AS total_ms,
    sumForEach(buckets) AS buckets
FROM lookup_outcomes FINAL
WHERE slot >= toDateTime({from_slot:String}, 'UTC')
GROUP BY day, member_code, route, status, code
ORDER BY day, member_code, route, status, code
