-- borrower_inquiries: every logged inquiry of one borrower, one row each (a self-report lists
-- them with their times; lookups read the counts of inquiry_counts instead).
-- Parameters: {key:String} borrower_key (64 hex).
-- Result: queried_at DateTime64(3, 'UTC'), member_code, member_type, product, purpose String,
--         inquiry_id String — one row per inquiry (FINAL: a journal replay counts once).
SELECT queried_at, member_code, member_type, product, purpose, toString(inquiry_id) AS inquiry_id
FROM inquiries FINAL
WHERE borrower_key = {key:String}
