-- batch_accounts: account figures of every borrower of one batch job (products.batch), from
-- borrower_accounts (migration 0010: the accounts' current states, narrow, keyed by borrower;
-- 0016: by the digest's 32 bytes, so the job's hex keys are converted in and the answer's out).
-- Parameters: {job:String} job id (its keys are in batch_keys); {member:String} the caller (its
--   own accounts, for the POST_LOAN rule); {as_of:Date} reference day; {since_3m:Date} the day
--   before the 90-day window starts (opened_date > since_3m is "opened in 3 months").
-- Result: one row per borrower of the job that has any account (others have none):
--   borrower_key, open_accounts, open_institutions, total_credit_amount, open_balance,
--   overdue_accounts, overdue_amount, max_current_dpd, written_off, settled, opened_3m,
--   new_account_institutions_3m, own_accounts — the multi-loan definitions (docs/api.md).
-- GLOBAL IN is plain IN on one node and ships the key set once to every shard on a cluster. The
-- set is FixedString(32) like the column: a set of unhex() Strings misses every key whose digest
-- ends in a zero byte (one in 256; tests/test_batch_accounts_migration.py).
SELECT lower(hex(key)) AS borrower_key, * EXCEPT key
FROM (
    SELECT
        borrower_key AS key,
        countIf(status IN ('NORMAL', 'OVERDUE')) AS open_accounts,
        uniqExactIf(member_code, status IN ('NORMAL', 'OVERDUE')) AS open_institutions,
        sumIf(credit_amount, status IN ('NORMAL', 'OVERDUE')) AS total_credit_amount,
        sumIf(balance, status IN ('NORMAL', 'OVERDUE')) AS open_balance,
        countIf(status IN ('NORMAL', 'OVERDUE') AND dpd > 0) AS overdue_accounts,
        sumIf(overdue_amount, status IN ('NORMAL', 'OVERDUE') AND dpd > 0) AS overdue_amount,
        maxIf(dpd, status IN ('NORMAL', 'OVERDUE')) AS max_current_dpd,
        countIf(status = 'WRITTEN_OFF') AS written_off,
        countIf(status = 'SETTLED') AS settled,
        countIf(opened_date > {since_3m:Date}) AS opened_3m,
        uniqExactIf(member_code, status IN ('NORMAL', 'OVERDUE') AND opened_date > {since_3m:Date})
            AS new_account_institutions_3m,
        countIf(member_code = {member:String}) AS own_accounts
    FROM borrower_accounts FINAL
    WHERE borrower_key GLOBAL IN (
        SELECT toFixedString(unhex(borrower_key), 32) FROM batch_keys WHERE job_id = {job:String}
    )
      AND opened_date <= {as_of:Date}
    GROUP BY borrower_key
)
