-- report_aggregate_stamps: the current computation of each (month, kind) in report_aggregates
-- (see sql/migrations/0004_report_aggregates.sql; reports.aggregates).
-- Parameters:
--   {month:Date}  the release month (first day of a month); later months are not listed
-- Result: one row per (month, kind) with a stamp, the latest one (by computed_at, then id):
--   month        Date
--   kind_name    String   the kind
--   generation   String   the id of the computation whose rows are current
--   fingerprint  String   what the computation read (compared with report_fingerprints)
SELECT month, kind_name, latest.1 AS generation, latest.2 AS fingerprint
FROM (
    SELECT
        month,
        toString(kind) AS kind_name,
        argMax((generation, fingerprint), (computed_at, generation)) AS latest
    FROM report_aggregates
    WHERE is_stamp = 1 AND month <= {month:Date}
    GROUP BY month, kind_name
)
ORDER BY month, kind_name
