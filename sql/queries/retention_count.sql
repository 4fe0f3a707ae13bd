-- retention_count: what `jdx retention run` would purge (DOMAIN.md §4: negative information is
-- kept 5 years after the negative state ended).
-- Parameters: {cutoff:Date} = today − 5 years (China time).
-- Result: one row, states (loan_states rows) and months (account_months rows) to purge.
-- Negative: dpd > 0 or status OVERDUE / WRITTEN_OFF. A negative record's state ended
-- on the as_of day of the account's first later record that is not negative (for month-end
-- states: the last day of the first later month that is not negative); it is purged when that
-- day is before the cutoff, i.e. from 5 years and 1 day after the end. An account still negative
-- has not ended: nothing of it goes. The same conditions are in retention_purge_*.sql.
SELECT
    (
        SELECT count() FROM
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
    ) AS states,
    (
        SELECT count() FROM
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
    ) AS months
