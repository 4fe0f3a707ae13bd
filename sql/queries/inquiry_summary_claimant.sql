-- inquiry_summary_claimant: the build that builds a generation of inquiry_summary — the earliest
-- claim of the last {valid} seconds (a build that died leaves a claim that lapses)
-- (products.inquiry_summary; migration 0017).
-- Parameters: {through:String} the generation (UTC text 'YYYY-MM-DD hh:mm:ss');
--   {valid:UInt32} how long a claim holds, in seconds.
-- Result: no row (no claim holds), or one: build String, claimed_at DateTime64(6, 'UTC').
SELECT build, claimed_at
FROM inquiry_summary_claims
WHERE through = toDateTime({through:String}, 'UTC')
  AND claimed_at >= now64(6, 'UTC') - toIntervalSecond({valid:UInt32})
ORDER BY claimed_at, build
LIMIT 1
