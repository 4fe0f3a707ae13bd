-- reciprocity_standing: what "give to get" needs to know about one member (products.control).
-- Parameters: {member:String} member code; {since_day:Date} first day of the reciprocity window.
-- Result: one row:
--   last_accepted  Nullable(DateTime64(3, 'UTC'))  latest received_at of an accepted or
--                  partially accepted submission (any time; NULL if none)
--   dq_passed      UInt64  sum of passed checks in dq_daily from {since_day} (all dimensions)
--   dq_checked     UInt64  sum of checks in the same rows (0: no DQ data in the window)
SELECT
    (
        SELECT maxOrNull(received_at)
        FROM submissions FINAL
        WHERE member_code = {member:String}
          AND status IN ('accepted', 'partially_accepted')
    ) AS last_accepted,
    (
        SELECT sum(passed) FROM dq_daily FINAL
        WHERE member_code = {member:String} AND day >= {since_day:Date}
    ) AS dq_passed,
    (
        SELECT sum(checked) FROM dq_daily FINAL
        WHERE member_code = {member:String} AND day >= {since_day:Date}
    ) AS dq_checked
