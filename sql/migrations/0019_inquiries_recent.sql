-- 0019 the last days' inquiries, by day, for the readers bounded in time (issue 16), single node /
-- chDB. The cluster variant is sql/cluster/0019_inquiries_recent.sql.
--
-- inquiries is partitioned by month and ordered by borrower, so a reader of its last minutes or
-- days — the inquiry log's fold of the single lookups (inquiry_counts_fold, every minute), its
-- start (inquiries_since) and a batch job's inquiries after the nightly summary
-- (batch_inquiries) — reads the month's whole partition: every granule holds some of them. The
-- reads grow with the month's lookups, for the fold every minute. Measured (docs/benchmarks.md,
-- 30M inquiries in a month, merged): the fold of a minute 375 ms, the start 329 ms, a 100k job's
-- two days 502 ms; from a copy of the last days partitioned by day, 14, 11 and 104 ms.
--
-- inquiries_recent is that copy: every inquiry of the last 8 days (its view writes the rows no
-- older than that; its TTL drops a day's part once all of it is older), the same columns, rows
-- and order, one partition a day. A reader takes it when its lower bound is at most 7 days old
-- (products.inquiry_log.inquiry_source; a day's margin for the clocks of the engine and of jdx),
-- else inquiries. It is ReplacingMergeTree like inquiries: a row written twice (the view, then
-- this backfill re-run after a kill) is one row to FINAL, and the readers count distinct ids.
-- No reader asks it for a borrower's whole history: point reads stay on inquiries.
CREATE TABLE IF NOT EXISTS inquiries_recent
(
    borrower_key   FixedString(64),
    queried_at     DateTime64(3, 'UTC'),
    inquiry_id     UUID,
    member_code    LowCardinality(String),
    member_type    LowCardinality(String),
    product        LowCardinality(String),
    purpose        LowCardinality(String),
    consent_ref    String,
    api_key_id     String,
    batch_id       String
)
ENGINE = ReplacingMergeTree
PARTITION BY toDate(queried_at)
ORDER BY (borrower_key, queried_at, inquiry_id)
TTL toDateTime(queried_at) + INTERVAL 8 DAY
SETTINGS ttl_only_drop_parts = 1;

-- the view first, then the backfill: an inquiry written between the two is in both (one row)
CREATE MATERIALIZED VIEW IF NOT EXISTS inquiries_recent_mv TO inquiries_recent AS
SELECT *
FROM inquiries
WHERE queried_at >= now() - INTERVAL 8 DAY;

INSERT INTO inquiries_recent
SELECT *
FROM inquiries
WHERE queried_at >= now() - INTERVAL 8 DAY;
