-- dq_member_rules: the validation rules a member's files broke most often since a day.
-- Parameters: {member:String} the member; {since:Date} the first reporting day counted;
--   {limit:UInt32} most rows returned.
-- Result: code String, severity String (error, warning, info), issues UInt64; most first.
-- The loads are those with data-quality rows on or after {since} (their reporting day).
SELECT code, any(severity) AS severity, count() AS issues
FROM rejections FINAL
WHERE member_code = {member:String}
    AND load_id IN
    (
        SELECT DISTINCT load_id
        FROM dq_daily
        WHERE member_code = {member:String} AND day >= {since:Date}
    )
GROUP BY code
ORDER BY issues DESC, code
LIMIT {limit:UInt32}
