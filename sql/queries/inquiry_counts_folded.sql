-- inquiry_counts_folded: the start of the latest minute of single lookups in inquiry_counts
-- (products.inquiry_log starts folding there when its journal directory has no record of it).
-- Parameters: none.
-- Result: one row: folded DateTime('UTC') (1970-01-01 00:00:00 when nothing is counted yet).
SELECT max(slot) AS folded FROM inquiry_counts WHERE source = ''
