-- report_segments: the release month's open book by segment and dpd bucket, one row per member —
-- the input of the segment tables of a delinquency release (reports.statistics; docs/reports.md).
-- Parameters:
--   {month:Date}  the release month (first day of a month)
-- Result: one row per (dimension, value, member_code, bucket) with accounts > 0:
--   month        Date     {month}
--   dimension    String   'member_type', 'product', 'province', 'age_band', 'size_band'
--   value        String   the segment: member_type and product codes; province = 2-digit
--                         GB/T 2260 code or 'unknown'; age_band and size_band as below
--   member_code  String   the contributing institution (for the disclosure rule)
--   bucket       UInt8    0 current (dpd 0), 1 = 1-29, 2 = 30-59, 3 = 60-89, 4 = 90-179, 5 = 180+
--   accounts     UInt64   open accounts at month end
--   balance      Decimal  their outstanding balance (CNY)
--
-- Open account and FINAL as in report_series.
-- age_band: age = calendar year of the month - birth_year (the age reached during that year):
--   'lt25' (under 25), '25-29', '30-39', '40-49', '50+'; 'unknown' when birth_year is 0.
-- size_band: credit_amount (loan principal or credit limit, CNY) in [0, 1 000) 'lt1k',
--   [1 000, 5 000) '1k-5k', [5 000, 20 000) '5k-20k', [20 000, 50 000) '20k-50k',
--   [50 000, 200 000) '50k-200k', [200 000, ∞) '200k+'.
-- Cost: one partition; the inner GROUP BY collapses the month to member × segments × bucket, and
-- the ARRAY JOIN that fans each row out to its five dimensions works on those few rows.
WITH book AS (
    SELECT
        member_code,
        toString(member_type) AS seg_type,
        toString(product) AS seg_product,
        if(province = '', 'unknown', toString(province)) AS seg_province,
        multiIf(
            birth_year = 0, 'unknown',
            toInt32(toYear(month)) - toInt32(birth_year) < 25, 'lt25',
            toInt32(toYear(month)) - toInt32(birth_year) < 30, '25-29',
            toInt32(toYear(month)) - toInt32(birth_year) < 40, '30-39',
            toInt32(toYear(month)) - toInt32(birth_year) < 50, '40-49',
            '50+'
        ) AS seg_age,
        multiIf(
            credit_amount < 1000, 'lt1k',
            credit_amount < 5000, '1k-5k',
            credit_amount < 20000, '5k-20k',
            credit_amount < 50000, '20k-50k',
            credit_amount < 200000, '50k-200k',
            '200k+'
        ) AS seg_size,
        toUInt8(multiIf(dpd = 0, 0, dpd < 30, 1, dpd < 60, 2, dpd < 90, 3, dpd < 180, 4, 5)) AS bucket,
        count() AS n,
        sum(balance) AS b
    FROM account_months FINAL
    WHERE month = {month:Date} AND status IN ('NORMAL', 'OVERDUE')
    GROUP BY member_code, seg_type, seg_product, seg_province, seg_age, seg_size, bucket
    SETTINGS do_not_merge_across_partitions_select_final = 1
)
SELECT
    {month:Date} AS month,
    dim.1 AS dimension,
    dim.2 AS value,
    toString(member_code) AS member_code,
    bucket,
    sum(n) AS accounts,
    sum(b) AS balance
FROM book
ARRAY JOIN
    [
        ('member_type', seg_type),
        ('product', seg_product),
        ('province', seg_province),
        ('age_band', seg_age),
        ('size_band', seg_size)
    ] AS dim
GROUP BY dimension, value, member_code, bucket
ORDER BY dimension, value, member_code, bucket
