-- lookup_counts_archive_counted: one day's counts into borrower_lookup's archive partition again,
-- from inquiry_counts (every count ever written for the day), after products.inquiry_log dropped
-- the day's partition: a count written to the day between the move's first copy
-- (lookup_counts_archive_day) and the drop — a batch job stamped with its submission time, a late
-- fold of another API process — was dropped with the partition but is in inquiry_counts. The
-- rows are what the counts' view of migration 0018 writes, with as_of_date 1970-01-01; a row
-- copied again is the same row, kept once by readers and by the archive's merge.
-- Parameters: {day:Date} the counts' day.
-- Result: none (INSERT … SELECT).
INSERT INTO borrower_lookup (borrower_key, kind, member_code, account_id, month, version,
    is_deleted, as_of_date, payload)
SETTINGS insert_distributed_sync = 1
SELECT
    borrower_key, 'C' AS kind, member_code,
    concat(member_type, '|', product, '|', purpose, '|', toString(night), '|', source, '|',
           toString(toUnixTimestamp(slot))) AS account_id,
    day AS month, version, toUInt8(0) AS is_deleted, toDate(0) AS as_of_date,
    concatWithSeparator('|', toString(inquiries), toString(toUnixTimestamp64Milli(first_at)))
        AS payload
FROM inquiry_counts
WHERE day = {day:Date}
