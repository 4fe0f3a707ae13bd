-- 0015 the inquiry summary (issue 16): a batch job's inquiry figures without reading the year of
-- inquiries (single node / chDB). The cluster variant is sql/cluster/0015_inquiry_summary.sql.
--
-- A batch job counts its borrowers' inquiries of the 7, 30, 90 and 365 days before its as-of day.
-- From `inquiries` (ordered by borrower) a job of 100k borrowers among millions finds one in
-- every granule, so it read the whole year: ~70 ms per million inquiries kept
-- (bench/batch_inquiries.py), 1.4 s at 20M, ~25 s a job at a year of ten 100k jobs a day.
-- inquiry_summary holds one row per borrower: the borrower's applications (single and batch
-- lookups; self-inquiries and dispute lookups are not applications) per China-time day and
-- member, for the days before `through` (a China-time midnight), back to `first_day`. The nightly
-- compaction (products.compaction, products.inquiry_summary) writes a new generation — one
-- partition — then records it in inquiry_summary_builds, then drops the generations before the
-- one it replaced. Readers take the newest recorded generation and count `inquiries` from its
-- `through` on (named query batch_inquiries_summary); a generation not recorded (a build killed
-- half way) is never read and is dropped by the next build.
CREATE TABLE IF NOT EXISTS inquiry_summary
(
    borrower_key  FixedString(64) CODEC(ZSTD(1)),
    through       DateTime('UTC'),                 -- the generation: inquiries before this instant
    days          Array(Date),                     -- China-time day of each (day, member) count
    members       Array(LowCardinality(String)),   -- the member that looked the borrower up
    inquiries     Array(UInt32)                    -- distinct inquiry ids of that day and member
)
ENGINE = MergeTree
PARTITION BY toUnixTimestamp(through)
ORDER BY borrower_key
SETTINGS index_granularity = 1024;

CREATE TABLE IF NOT EXISTS inquiry_summary_builds
(
    through    DateTime('UTC'),      -- the generation (inquiry_summary's partition)
    first_day  Date,                 -- the oldest day it holds
    built_at   DateTime64(3, 'UTC'),
    borrowers  UInt64                -- its rows
)
ENGINE = ReplacingMergeTree
ORDER BY through;
