-- When a member's accounts last had a record loaded (the newest loaded_at of their loan_states):
-- a dispute answered "corrected" or "deleted" closes once its account has a record loaded after
-- the answer (ingest.disputes.settle).
SELECT account_id, max(loaded_at) AS loaded_at
FROM loan_states
WHERE member_code = {member:String} AND account_id IN {accounts:Array(String)}
GROUP BY account_id
