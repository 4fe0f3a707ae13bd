-- dq_member_fields: the fields that failed a member's data-quality checks most often since a day.
-- Parameters: {member:String} the member; {since:Date} the first day counted;
--   {limit:UInt32} most rows returned.
-- Result: dimension String, field String ('(file)' for the file as a whole),
--   failed UInt64 records (files, for timeliness) that failed this field's checks; worst first.
SELECT dimension, field, sum(checked - passed) AS failed
FROM dq_daily FINAL
WHERE member_code = {member:String} AND day >= {since:Date} AND field != ''
GROUP BY dimension, field
HAVING failed > 0
ORDER BY failed DESC, dimension, field
LIMIT {limit:UInt32}
