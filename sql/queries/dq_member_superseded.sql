-- dq_member_superseded: a member's loads rejected by a file-level error (an error issue on line 0
-- or 1: checksum, header, encoding …) that a later load of the same as_of replaced, accepted or
-- partially accepted: the member re-sent that day's file corrected, and the corrected file counts
-- in its data-quality score instead (ingest.dq, docs/ingest.md "Corrections").
-- Parameters: {member:String} the member.
-- Result: load_id String, one row per superseded load.
SELECT bad.load_id AS load_id
FROM
(
    SELECT load_id, as_of, load_seq
    FROM submissions FINAL
    WHERE member_code = {member:String} AND status = 'rejected'
) AS bad
INNER JOIN
(
    SELECT as_of, max(load_seq) AS last_good
    FROM submissions FINAL
    WHERE member_code = {member:String} AND status IN ('accepted', 'partially_accepted')
    GROUP BY as_of
) AS good ON bad.as_of = good.as_of
WHERE good.last_good > bad.load_seq
    AND bad.load_id IN
    (
        SELECT load_id
        FROM rejections
        WHERE member_code = {member:String} AND line <= 1 AND severity = 'error'
    )
