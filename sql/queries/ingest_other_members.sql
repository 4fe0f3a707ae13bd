-- ingest_other_members: (borrower_key, name_hash) pairs other members report for the borrowers
-- of a file — the reference data of the across-member rule M601 (identity conflict, a DQ signal).
-- Parameters: {member:String} the uploading member (its own accounts are left out);
--   {borrowers:Identifier} a scratch table (key String) of the file's borrower keys.
-- Result: borrower_key FixedString(64), name_hash String; distinct pairs.
--
-- No FINAL: a name another member corrected may still show in a row not yet replaced, which at
-- worst raises an info flag (M601 never rejects); reading without FINAL keeps this cheap.
-- Deleted rows (D records) are left out.
SELECT DISTINCT borrower_key, name_hash
FROM accounts_current
WHERE borrower_key GLOBAL IN (SELECT key FROM {borrowers:Identifier})
    AND member_code != {member:String}
    AND name_hash != ''
    AND is_deleted = 0
