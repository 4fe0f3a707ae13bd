-- lab_extract_accounts: the account_months rows a data-laboratory project's extract is built from
-- (sandbox.extract re-keys and relabels them; docs/lab.md).
-- Parameters:
--   {first:Date}  the project's first month (first day of a month)
--   {last:Date}   the project's last month (first day of a month)
--   {lo:String}   borrower keys from this one ('' = from the first)
--   {hi:String}   borrower keys below this one ('' = to the last): sandbox.extract reads a large
--                 month in slices of the key range (the table is ordered by borrower_key first)
-- Result: one row per account and month end in [first, last] whose borrower key is in
-- [lo, hi), deleted accounts left out:
--   month              Date     first day of the month
--   borrower_key       String   the warehouse borrower key (re-keyed before it is written)
--   member_code        String   the reporting member (replaced by a project-local label)
--   account_id         String   the member's account id (re-keyed before it is written)
--   member_type        String   institution type code
--   birth_year         UInt16   borrower's birth year (0 when unknown)
--   product, guarantee String   domain codes
--   opened_month       Date     first day of the month the account opened
--   closed_month       Nullable(Date)  first day of the month it closed, if it did
--   credit_amount, balance, scheduled_amount, paid_amount, overdue_amount  Float64
--   dpd                UInt16   days past due at the month's last state
--   overdue_installments UInt16
--   status             String   account status code
--   five_class         UInt8    0 when not reported
-- Read from account_months FINAL: the last state of each account in each month.
SELECT
    month,
    toString(borrower_key) AS borrower_key,
    toString(member_code) AS member_code,
    account_id,
    toString(member_type) AS member_type,
    birth_year,
    toString(product) AS product,
    toString(guarantee) AS guarantee,
    toStartOfMonth(opened_date) AS opened_month,
    if(closed_date IS NULL, NULL, toStartOfMonth(assumeNotNull(closed_date))) AS closed_month,
    toFloat64(credit_amount) AS credit_amount,
    toFloat64(balance) AS balance,
    toFloat64(scheduled_amount) AS scheduled_amount,
    toFloat64(paid_amount) AS paid_amount,
    toFloat64(overdue_amount) AS overdue_amount,
    dpd,
    overdue_installments,
    toString(status) AS status,
    five_class
FROM account_months FINAL
WHERE month >= {first:Date} AND month <= {last:Date}
    AND borrower_key >= {lo:String}
    AND ({hi:String} = '' OR borrower_key < {hi:String})
ORDER BY month, borrower_key, member_code, account_id
SETTINGS do_not_merge_across_partitions_select_final = 1
