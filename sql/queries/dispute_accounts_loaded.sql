-- dispute_accounts_loaded: when a member's accounts last had a record loaded (the newest loaded_at
-- of their loan_states). A dispute answered "corrected" or "deleted" closes once its account has
-- a record from a file received after the case opened (ingest.disputes.settle).
-- Parameters: {member:String} the member; {accounts:Array(String)} its accounts under dispute.
-- Result: account_id, loaded_at (UTC) per account that has loan states.
SELECT account_id, max(loaded_at) AS loaded_at
FROM loan_states
WHERE member_code = {member:String} AND account_id IN {accounts:Array(String)}
GROUP BY account_id
