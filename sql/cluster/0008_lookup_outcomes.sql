-- 0008 lookup outcomes, cluster variant of sql/migrations/0008_lookup_outcomes.sql: the local
-- (replicated) table and the Distributed table over it, sharded by member.
CREATE TABLE IF NOT EXISTS {database:Identifier}.lookup_outcomes_local ON CLUSTER '{cluster}'
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/lookup_outcomes', '{replica}')
PARTITION BY toYYYYMM(slot)
ORDER BY (slot, member_code, route, status, code, batch);

CREATE TABLE IF NOT EXISTS {database:Identifier}.lookup_outcomes ON CLUSTER '{cluster}'
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
ENGINE = Distributed('{cluster}', {database:String}, 'lookup_outcomes_local', cityHash64(member_code));
