-- 0017 one inquiry-summary build at a time across processes (issue 16), single node / chDB. The
-- cluster variant is sql/cluster/0017_inquiry_summary_claims.sql.
--
-- products.inquiry_summary builds a generation by dropping its partition (the rows of a build
-- killed half way), writing it and recording it. Against one ClickHouse server several jdx serve
-- processes run, each with its nightly scheduler: two building the same generation at once
-- could interleave — one's drop after the other's rows, or both writing the partition — and
-- record a generation with counts missing or doubled. A build now first claims its generation
-- here; the earliest claim of the last hour builds, and the others wait for its record.
CREATE TABLE IF NOT EXISTS inquiry_summary_claims
(
    through     DateTime('UTC'),        -- the generation claimed
    build       String,                 -- the claiming build (random, one per build)
    claimed_at  DateTime64(6, 'UTC')    -- the server's clock when the claim was written
)
ENGINE = MergeTree
ORDER BY (through, claimed_at, build)
TTL toDateTime(claimed_at) + INTERVAL 30 DAY;
