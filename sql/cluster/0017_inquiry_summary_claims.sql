-- 0017 one inquiry-summary build at a time across processes (issue 16), cluster variant of
-- sql/migrations/0017_inquiry_summary_claims.sql (see its header for why). The claims of one
-- generation land on one shard (sharded by it, as inquiry_summary_builds), written
-- synchronously; the build reads them back through the Distributed table.
CREATE TABLE IF NOT EXISTS {database:Identifier}.inquiry_summary_claims_local ON CLUSTER '{cluster}'
(
    through     DateTime('UTC'),
    build       String,
    claimed_at  DateTime64(6, 'UTC')
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/inquiry_summary_claims', '{replica}')
ORDER BY (through, claimed_at, build)
TTL toDateTime(claimed_at) + INTERVAL 30 DAY;

CREATE TABLE IF NOT EXISTS {database:Identifier}.inquiry_summary_claims ON CLUSTER '{cluster}'
(
    through     DateTime('UTC'),
    build       String,
    claimed_at  DateTime64(6, 'UTC')
)
ENGINE = Distributed('{cluster}', {database:String}, 'inquiry_summary_claims_local', cityHash64(through));
