-- inquiries_since: the single lookups logged from {start} on, one row each (products.inquiry_log
-- holds them in memory at start until a fold counts their minutes into inquiry_counts).
-- Parameters: {start:String} UTC time 'YYYY-MM-DD hh:mm:ss.fff' (the inquiry log's watermark);
--   {source:Identifier} inquiries, or inquiries_recent when it holds every inquiry from {start}
--   on (migration 0019, products.inquiry_log.inquiry_source).
-- Result: the inquiries columns borrower_key, queried_at, inquiry_id (String), member_code,
--         member_type, product, purpose, consent_ref, api_key_id, batch_id ('').
SELECT borrower_key, queried_at, toString(inquiry_id) AS inquiry_id, member_code, member_type,
       product, purpose, consent_ref, api_key_id, batch_id
FROM {source:Identifier} FINAL
WHERE batch_id = '' AND queried_at >= toDateTime64({start:String}, 3, 'UTC')
