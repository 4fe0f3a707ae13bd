-- ingest_history: the last loaded, not deleted state of each account a file names, at its
-- member, before this load — the reference data of the history rules (H5xx; the columns of
-- ingest.history.HISTORY_SCHEMA).
-- Parameters: {member:String} the uploading member;
--   {before_seq:UInt64} the load's own load_seq: rows it wrote before a crash are not its history;
--   {accounts:Identifier} a scratch table (key String) of the file's account ids.
-- Result: one row per account whose latest state is an A record:
--   account_id String, as_of_date Date, dpd Int32, borrower_key FixedString(64),
--   opened_date Date, ever_negative UInt8 (dpd > 0 reported since the account's last D record).
--
-- Latest = highest version (as_of_date, then load_seq): the order FINAL applies. A replayed load
-- wrote identical rows, so argMax needs no FINAL. loan_states is ordered by (member_code,
-- account_id, as_of_date): the key set prunes granules. GLOBAL IN builds the set once on the node
-- the loader talks to and ships it to the shards of a cluster (a plain IN on one node).
SELECT
    account_id,
    state.1 AS as_of_date,
    toInt32(state.2) AS dpd,
    state.3 AS borrower_key,
    state.4 AS opened_date,
    ever_negative
FROM
(
    SELECT
        account_id,
        argMax((as_of_date, dpd, borrower_key, opened_date, record_type), version) AS state,
        -- a negative state newer than the last D (maxIf of no rows is 0)
        toUInt8(maxIf(version, dpd > 0) > maxIf(version, record_type = 'D')) AS ever_negative
    FROM loan_states
    WHERE member_code = {member:String}
        AND load_seq < {before_seq:UInt64}
        AND account_id GLOBAL IN (SELECT key FROM {accounts:Identifier})
    GROUP BY account_id
)
WHERE state.5 = 'A'
