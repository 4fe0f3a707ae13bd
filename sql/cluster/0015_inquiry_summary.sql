-- 0015 the inquiry summary (issue 16), cluster variant of sql/migrations/0015_inquiry_summary.sql
-- (see its header for why and the layout). inquiry_summary is sharded by borrower like
-- inquiries, so a batch job's two parts of the count (the summary and the inquiries after its
-- generation) read the same shards; the builds' record is small, one row per night.
-- Nothing to backfill: the first nightly compaction builds the first generation.
CREATE TABLE IF NOT EXISTS {database:Identifier}.inquiry_summary_local ON CLUSTER '{cluster}'
(
    borrower_key  FixedString(64) CODEC(ZSTD(1)),
    through       DateTime('UTC'),
    days          Array(Date),
    members       Array(LowCardinality(String)),
    inquiries     Array(UInt32)
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/inquiry_summary', '{replica}')
PARTITION BY toUnixTimestamp(through)
ORDER BY borrower_key
SETTINGS index_granularity = 1024;

CREATE TABLE IF NOT EXISTS {database:Identifier}.inquiry_summary ON CLUSTER '{cluster}'
(
    borrower_key  FixedString(64),
    through       DateTime('UTC'),
    days          Array(Date),
    members       Array(LowCardinality(String)),
    inquiries     Array(UInt32)
)
ENGINE = Distributed('{cluster}', {database:String}, 'inquiry_summary_local', cityHash64(borrower_key));

CREATE TABLE IF NOT EXISTS {database:Identifier}.inquiry_summary_builds_local ON CLUSTER '{cluster}'
(
    through    DateTime('UTC'),
    first_day  Date,
    built_at   DateTime64(3, 'UTC'),
    borrowers  UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/inquiry_summary_builds', '{replica}')
ORDER BY through;

CREATE TABLE IF NOT EXISTS {database:Identifier}.inquiry_summary_builds ON CLUSTER '{cluster}'
(
    through    DateTime('UTC'),
    first_day  Date,
    built_at   DateTime64(3, 'UTC'),
    borrowers  UInt64
)
ENGINE = Distributed('{cluster}', {database:String}, 'inquiry_summary_builds_local', cityHash64(through));
