-- reciprocity_standing: when one member last had a file accepted (products.control; its DQ score
-- is ingest.dq.member_score over dq_member_days, the score the loader reports).
-- Parameters: {member:String} member code.
-- Result: one row:
--   last_accepted  Nullable(DateTime64(3, 'UTC'))  latest received_at of an accepted or
--                  partially accepted submission (any time; NULL if none)
SELECT
    (
        SELECT maxOrNull(received_at)
        FROM submissions FINAL
        WHERE member_code = {member:String}
          AND status IN ('accepted', 'partially_accepted')
    ) AS last_accepted
