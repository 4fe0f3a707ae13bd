-- retention_purge_lookup_months: delete the lookups' copies (borrower_lookup, kind M) of the
-- month-end states retention_purge_months deletes; run it first, while account_months still
-- says which they are.
-- Parameters: {cutoff:Date} = today − 5 years (China time).
-- Result: none (a mutation, waited for: mutations_sync = 2).
ALTER TABLE borrower_lookup DELETE WHERE kind = 'M' AND (member_code, account_id, month) IN
(
    SELECT n.member_code, n.account_id, n.month
    FROM (SELECT member_code, account_id, month FROM account_months FINAL
          WHERE dpd > 0 OR status IN ('OVERDUE', 'WRITTEN_OFF')) AS n
    INNER JOIN (SELECT member_code, account_id, month FROM account_months FINAL
                WHERE dpd = 0 AND status NOT IN ('OVERDUE', 'WRITTEN_OFF')) AS p
        ON n.member_code = p.member_code AND n.account_id = p.account_id
    WHERE p.month > n.month
    GROUP BY n.member_code, n.account_id, n.month
    HAVING toLastDayOfMonth(min(p.month)) < {cutoff:Date}
)
SETTINGS mutations_sync = 2
