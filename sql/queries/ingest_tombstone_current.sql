-- ingest_tombstone_current: a D record's effect on accounts_current under *every* borrower key
-- the account was reported for. The view marks the D's own key deleted; an account whose identity
-- was wrong (H502: send D, then A with the right identity) may have its current state under
-- another key, which this marks deleted too.
-- Parameters: {member:String} the member; {accounts:Array(String)} accounts with an accepted D;
--   {versions:Array(UInt64)} each account's D version (days(as_of) << 40 | load_seq), same order.
-- Result: none (an INSERT … SELECT statement, run with Warehouse.execute).
-- Only states older than the D are replaced; a later A (higher version) stays. Idempotent.
INSERT INTO accounts_current
SELECT * REPLACE (
    transform(account_id, {accounts:Array(String)}, {versions:Array(UInt64)}, toUInt64(0))
        AS version,
    toUInt8(1) AS is_deleted
)
FROM accounts_current FINAL
WHERE borrower_key GLOBAL IN
    (
        SELECT DISTINCT borrower_key
        FROM loan_states
        WHERE member_code = {member:String} AND account_id IN {accounts:Array(String)}
    )
    AND member_code = {member:String}
    AND account_id IN {accounts:Array(String)}
    AND accounts_current.version
        < transform(account_id, {accounts:Array(String)}, {versions:Array(UInt64)}, toUInt64(0))
