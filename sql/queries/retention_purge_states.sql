-- retention_purge_states: delete the negative loan_states whose state ended before {cutoff:Date}
-- (conditions: retention_count.sql). A mutation, waited for; running it again deletes nothing.
-- Parameters: {cutoff:Date} = today − 5 years (China time).
-- Result: none (a mutation, waited for: mutations_sync = 2).
ALTER TABLE loan_states DELETE WHERE (member_code, account_id, as_of_date) IN
(
    SELECT n.member_code, n.account_id, n.as_of_date
    FROM (SELECT member_code, account_id, as_of_date FROM loan_states FINAL
          WHERE dpd > 0 OR status IN ('OVERDUE', 'WRITTEN_OFF')) AS n
    INNER JOIN (SELECT member_code, account_id, as_of_date FROM loan_states FINAL
                WHERE dpd = 0 AND status NOT IN ('OVERDUE', 'WRITTEN_OFF')) AS p
        ON n.member_code = p.member_code AND n.account_id = p.account_id
    WHERE p.as_of_date > n.as_of_date
    GROUP BY n.member_code, n.account_id, n.as_of_date
    HAVING min(p.as_of_date) < {cutoff:Date}
)
SETTINGS mutations_sync = 2
