-- inquiry_summary_builds: the recorded generations of inquiry_summary, newest first
-- (products.inquiry_summary).
-- Parameters: none.
-- Result: through DateTime (UTC), first_day Date, built_at DateTime64(3, 'UTC'), borrowers UInt64.
SELECT through, first_day, built_at, borrowers
FROM inquiry_summary_builds FINAL
ORDER BY through DESC
