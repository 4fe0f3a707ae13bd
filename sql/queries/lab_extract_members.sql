-- lab_extract_members: the members with account months in a data-laboratory project's months
-- (sandbox.extract numbers them into project-local labels before reading the rows month by month).
-- Parameters:
--   {first:Date}  the project's first month (first day of a month)
--   {last:Date}   the project's last month (first day of a month)
-- Result: one row per member, sorted by code:
--   member_code  String  the reporting member (never written to the extract)
SELECT DISTINCT toString(member_code) AS member_code
FROM account_months
WHERE month >= {first:Date} AND month <= {last:Date}
ORDER BY member_code
