-- dq_member_corrected: a member's record issues since a day whose record a later load replaced
-- with an accepted record of the same account and as_of_date (a corrected resubmission): they
-- no longer weigh against its data-quality score (ingest.dq, docs/ingest.md "Corrections").
-- Parameters: {member:String} the member; {since:Date} the first reporting day counted;
--   {superseded:Array(String)} loads left out as a whole (dq_member_superseded).
-- Result: day Date (the failed load's reporting day), code String, load_id String, line UInt32 —
--   one row per issue; ingest.dq counts each record once per dimension.
-- "Later" is the ledger's order (load_seq); the replacing record is any A record loaded with a
-- higher load_seq for the same (account_id, as_of_date), warnings or not (its own issues count
-- in its own file).
SELECT d.day AS day, r.code AS code, r.load_id AS load_id, r.line AS line
FROM
(
    SELECT load_id, load_seq, line, code, account_id, assumeNotNull(as_of_date) AS as_of_date
    FROM rejections FINAL
    WHERE member_code = {member:String} AND line >= 2 AND account_id != ''
        AND as_of_date IS NOT NULL AND load_seq > 0
) AS r
INNER JOIN
(
    SELECT DISTINCT load_id, day
    FROM dq_daily
    WHERE member_code = {member:String} AND day >= {since:Date}
        AND load_id NOT IN {superseded:Array(String)}
) AS d ON r.load_id = d.load_id
INNER JOIN
(
    SELECT account_id, as_of_date, max(load_seq) AS last_seq
    FROM loan_states
    WHERE member_code = {member:String} AND record_type = 'A'
        AND account_id IN
        (
            SELECT account_id
            FROM rejections
            WHERE member_code = {member:String} AND line >= 2 AND as_of_date IS NOT NULL
        )
    GROUP BY account_id, as_of_date
) AS l ON r.account_id = l.account_id AND r.as_of_date = l.as_of_date
WHERE l.last_seq > r.load_seq
