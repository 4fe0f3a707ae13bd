-- report_exclusions: the records members' files held, and those rejected, by month and by the
-- rule family of the errors that rejected them — what a release states about its denominators
-- (rates are over accepted records; docs/reports.md, "What was excluded").
-- Parameters:
--   {first:Date}  first month of the series (first day of a month)
--   {month:Date}  the release month (first day of a month)
-- Result: one row per month and family with records, ordered by month and family; family '' is
-- the month's totals:
--   month     Date     month of the files' as_of date (the control file's), first day
--   family    String   '' (every record), or a rule-code prefix: F1 file, V2 field, X3 cross-field,
--                      W4 within file, H5 history, M6 across members (docs/rules.md)
--   records   UInt64   '': records the files held; a family: rejected records with an error of it
--   accepted  UInt64   '': records loaded; a family: 0
--   rejected  UInt64   '': records rejected (each once); a family: the same as records
-- Files counted: loans/1 data files answered accepted, partially accepted or rejected (a duplicate
-- loads nothing and is not counted again). A record rejected with errors of several families
-- counts once in each; every record of a file rejected by a file-class error counts under F1.
WITH
    files AS
    (
        SELECT load_id, toStartOfMonth(as_of) AS month, records, accepted, rejected
        FROM submissions FINAL
        WHERE spec = 'loans/1'
            AND status IN ('accepted', 'partially_accepted', 'rejected')
            AND as_of >= {first:Date} AND as_of < addMonths({month:Date}, 1)
    ),
    issues AS
    (
        SELECT DISTINCT load_id, line, toString(substring(code, 1, 2)) AS family
        FROM rejections FINAL
        WHERE severity = 'error' AND load_id IN (SELECT load_id FROM files)
    ),
    whole AS
    (
        SELECT DISTINCT load_id FROM issues WHERE family = 'F1'
    )
SELECT month, family, n_records AS records, n_accepted AS accepted, n_rejected AS rejected
FROM
(
    SELECT month, '' AS family, toUInt64(sum(records)) AS n_records,
        toUInt64(sum(accepted)) AS n_accepted, toUInt64(sum(rejected)) AS n_rejected
    FROM files
    GROUP BY month
    UNION ALL
    SELECT month, 'F1' AS family, toUInt64(sum(records)) AS n_records, toUInt64(0) AS n_accepted,
        toUInt64(sum(records)) AS n_rejected
    FROM files
    WHERE load_id IN (SELECT load_id FROM whole)
    GROUP BY month
    UNION ALL
    SELECT f.month AS month, i.family AS family, toUInt64(count()) AS n_records,
        toUInt64(0) AS n_accepted, toUInt64(count()) AS n_rejected
    FROM issues AS i
    INNER JOIN files AS f ON f.load_id = i.load_id
    WHERE i.load_id NOT IN (SELECT load_id FROM whole)
    GROUP BY f.month, i.family
)
ORDER BY month, family
