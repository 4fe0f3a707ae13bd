-- inquiry_counts_fold: count the single lookups logged in whole minutes [start, end) into
-- inquiry_counts (products.inquiry_log folds every [api] inquiry_fold_seconds; migration 0006
-- has the table). Folding the same minutes again writes the same keys with a higher version.
-- Parameters: {source:Identifier} inquiries, or inquiries_recent when it holds every inquiry from
--             {start} on (migration 0019, products.inquiry_log.inquiry_source: a minute's read
--             then scans days, not the month's partition);
--             {start:String}, {end:String} UTC times 'YYYY-MM-DD hh:mm:ss.fff' on whole minutes;
--             {version:UInt64} the fold's time in ms (higher than any fold before it).
-- Result: none (INSERT … SELECT). Its view writes the counts into borrower_lookup's partition of
-- their day (migration 0014): a fold after a long stop spans more days than the engine's default
-- of 100 partitions per insert, so that limit is lifted for it.
INSERT INTO inquiry_counts
SETTINGS max_partitions_per_insert_block = 0
SELECT
    borrower_key, toDate(queried_at, 'Asia/Shanghai') AS day, member_code, member_type, product,
    purpose,
    toUInt8(toHour(queried_at, 'Asia/Shanghai') >= 22 OR toHour(queried_at, 'Asia/Shanghai') < 6)
        AS night,
    '' AS source, toStartOfMinute(queried_at) AS slot, toUInt32(count()) AS inquiries,
    min(queried_at) AS first_at, {version:UInt64} AS version
FROM {source:Identifier} FINAL
WHERE batch_id = ''
  AND queried_at >= toDateTime64({start:String}, 3, 'UTC')
  AND queried_at < toDateTime64({end:String}, 3, 'UTC')
GROUP BY borrower_key, day, member_code, member_type, product, purpose, night, source, slot
