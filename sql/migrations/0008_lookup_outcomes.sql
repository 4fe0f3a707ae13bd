-- 0008 lookup outcomes: how the API's lookup routes answered, per minute, kept in the warehouse
-- so the operations console's refusals and latency survive a restart of jdx serve (they were
-- counted in the server's memory only). The cluster variant is
-- sql/cluster/0008_lookup_outcomes.sql.
--
-- lookup_outcomes: one row per UTC minute (`slot`), member, route, HTTP status and error code,
-- written by products.meter in the background (every [api] inquiry_fold_seconds, and at stop),
-- never per request. Rows are increments: a reader sums them (`requests`, `total_ms`, and the
-- latency histogram `buckets` element by element with sumForEach; bucket i counts answers that
-- took at most products.meter.BOUNDS_MS[i] ms, the last one everything slower).
--   member_code  the caller's member; '' when the key was missing or not recognised
--   route        multi-loan | time-series | batch
--   code         '' for an answer (2xx), else the error code of the answer (AUTH_INVALID,
--                RATE_LIMITED, …; products/errors.py)
--   batch        the id of the write: a write retried after an error repeats it, and
--                ReplacingMergeTree keeps one copy
CREATE TABLE IF NOT EXISTS lookup_outcomes
(
    slot         DateTime('UTC'),
    member_code  LowCardinality(String),
    route        LowCardinality(String),
    status       UInt16,
    code         LowCardinality(String),
    batch        String,
    requests     UInt64,
    total_ms     Float64,
    buckets      Array(UInt64)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(slot)
ORDER BY (slot, member_code, route, status, code, batch);
