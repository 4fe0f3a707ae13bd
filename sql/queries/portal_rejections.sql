-- portal_rejections: one member's validation issues per China-time day, rule and field (the
-- member portal's rejected records by rule and by field, and their trend).
-- Parameters: {member:String} member code; {from_ts:String} the UTC instant
--   'YYYY-MM-DD HH:MM:SS' where the first day starts (China time, UTC+8).
-- Result: one row per day, code and field, ordered by day, code, field:
--   day       Date    China-time day the issues were recorded (the file's load)
--   code      String  rule code (ingest.rules)
--   severity  String  error | warning
--   field     String  the field the issue names ('' for the record or the file)
--   issues    UInt64  issues (one record may have several)
--   records   UInt64  distinct records (load, line) with such an issue
-- Reads only the member's own rows: the table is ordered by member_code first.
SELECT
    toDate(created_at, 'Asia/Shanghai') AS day,
    toString(code) AS code,
    any(toString(severity)) AS severity,
    toString(field) AS field,
    count() AS issues,
    uniqExact(load_id, line) AS records
FROM rejections FINAL
WHERE member_code = {member:String}
  AND created_at >= toDateTime64({from_ts:String}, 3, 'UTC')
GROUP BY day, code, field
ORDER BY day, code, field
