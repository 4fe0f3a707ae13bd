-- ingest_tombstone_months: what a D record means for the time series. A D deletes an account
-- reported in error, so every month-end snapshot of it up to the D — under any borrower key the
-- account ever had — is marked deleted, not only the D's own month (which the view marks).
-- Parameters: {member:String} the member; {accounts:Array(String)} accounts with an accepted D;
--   {versions:Array(UInt64)} each account's D version (days(as_of) << 40 | load_seq), same order.
-- Result: none (an INSERT … SELECT statement, run with Warehouse.execute).
--
-- Each snapshot older than the D (version below it) gets a copy with is_deleted = 1 and the D's
-- version, so FINAL drops it; snapshots of a later A (a re-opened account) have higher versions
-- and stay. Replaying the load writes the same keys and versions: nothing changes twice.
INSERT INTO account_months
SELECT * REPLACE (
    transform(account_id, {accounts:Array(String)}, {versions:Array(UInt64)}, toUInt64(0))
        AS version,
    toUInt8(1) AS is_deleted
)
FROM account_months FINAL
WHERE borrower_key GLOBAL IN
    (
        SELECT DISTINCT borrower_key
        FROM loan_states
        WHERE member_code = {member:String} AND account_id IN {accounts:Array(String)}
    )
    AND member_code = {member:String}
    AND account_id IN {accounts:Array(String)}
    AND account_months.version
        < transform(account_id, {accounts:Array(String)}, {versions:Array(UInt64)}, toUInt64(0))
