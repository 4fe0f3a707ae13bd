-- dq_member_days: a member's data-quality figures per reporting day and dimension (jdx dq show,
-- GET /v1/dq, reciprocity; the score formula is in docs/ingest.md and ingest.dq).
-- Parameters: {member:String} the member; {since:Date} the first day shown;
--   {superseded:Array(String)} loads left out (dq_member_superseded).
-- Result: one row per day and dimension with data:
--   day Date, dimension String, passed UInt64, checked UInt64 (summed over the day's files),
--   files UInt64 (loads that reported on that day).
-- FINAL: a replayed load's rows count once. field = '' rows are the dimension totals.
SELECT
    day,
    dimension,
    sum(passed) AS passed,
    sum(checked) AS checked,
    uniqExact(load_id) AS files
FROM dq_daily FINAL
WHERE member_code = {member:String} AND day >= {since:Date} AND field = ''
    AND load_id NOT IN {superseded:Array(String)}
GROUP BY day, dimension
ORDER BY day, dimension
