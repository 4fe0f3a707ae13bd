-- 0019 the last days' inquiries, by day (issue 16), cluster variant of
-- sql/migrations/0019_inquiries_recent.sql (see its header for why and the layout). Sharded by
-- borrower like inquiries: each shard's view copies its own inquiries_local rows, so a borrower's
-- recent inquiries live on the shard of all the others; the backfill goes through the
-- Distributed tables.
CREATE TABLE IF NOT EXISTS {database:Identifier}.inquiries_recent_local ON CLUSTER '{cluster}'
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/inquiries_recent', '{replica}')
PARTITION BY toDate(queried_at)
ORDER BY (borrower_key, queried_at, inquiry_id)
TTL toDateTime(queried_at) + INTERVAL 8 DAY
SETTINGS ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS {database:Identifier}.inquiries_recent ON CLUSTER '{cluster}'
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
ENGINE = Distributed('{cluster}', {database:String}, 'inquiries_recent_local', cityHash64(borrower_key));

CREATE MATERIALIZED VIEW IF NOT EXISTS {database:Identifier}.inquiries_recent_mv ON CLUSTER '{cluster}'
TO {database:Identifier}.inquiries_recent_local AS
SELECT *
FROM {database:Identifier}.inquiries_local
WHERE queried_at >= now() - INTERVAL 8 DAY;

INSERT INTO {database:Identifier}.inquiries_recent
SELECT *
FROM {database:Identifier}.inquiries
WHERE queried_at >= now() - INTERVAL 8 DAY;
