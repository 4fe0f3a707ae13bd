-- report_base_cells: the release month's open book in its finest published partition — every
-- combination of the segment dimensions and the dpd bucket that holds an account. These are the
-- base cells of the relation model (reports.relations): every book cell of the release (headline,
-- buckets, segments) is a sum of them, so identities between dimensions (no province and no
-- birth year for a borrower without a RIC) follow from which combinations exist.
-- Parameters:
--   {month:Date}  the release month (first day of a month)
-- Result: one row per combination with accounts > 0, ordered by every key:
--   member_type  String   institution type code
--   product      String   product code
--   province     String   2-digit GB/T 2260 code or 'unknown'
--   age_band     String   'lt25', '25-29', '30-39', '40-49', '50+' or 'unknown'
--   size_band    String   'lt1k', '1k-5k', '5k-20k', '20k-50k', '50k-200k', '200k+'
--   bucket       UInt8    0 current (dpd 0), 1 = 1-29, 2 = 30-59, 3 = 60-89, 4 = 90-179, 5 = 180+
--   accounts     UInt64   open accounts at month end
--   balance      Decimal  their outstanding balance (CNY)
-- Segment values and open accounts exactly as in report_segments.
SELECT
    toString(member_type) AS member_type,
    toString(product) AS product,
    if(province = '', 'unknown', toString(province)) AS province,
    multiIf(
        birth_year = 0, 'unknown',
        toInt32(toYear(month)) - toInt32(birth_year) < 25, 'lt25',
        toInt32(toYear(month)) - toInt32(birth_year) < 30, '25-29',
        toInt32(toYear(month)) - toInt32(birth_year) < 40, '30-39',
        toInt32(toYear(month)) - toInt32(birth_year) < 50, '40-49',
        '50+'
    ) AS age_band,
    multiIf(
        credit_amount < 1000, 'lt1k',
        credit_amount < 5000, '1k-5k',
        credit_amount < 20000, '5k-20k',
        credit_amount < 50000, '20k-50k',
        credit_amount < 200000, '50k-200k',
        '200k+'
    ) AS size_band,
    toUInt8(multiIf(dpd = 0, 0, dpd < 30, 1, dpd < 60, 2, dpd < 90, 3, dpd < 180, 4, 5)) AS bucket,
    count() AS accounts,
    sum(balance) AS balance
FROM account_months FINAL
WHERE month = {month:Date} AND status IN ('NORMAL', 'OVERDUE')
GROUP BY member_type, product, province, age_band, size_band, bucket
ORDER BY member_type, product, province, age_band, size_band, bucket
SETTINGS do_not_merge_across_partitions_select_final = 1
