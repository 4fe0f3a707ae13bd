-- inquiry_summary_claim: claim a generation of inquiry_summary for one build
-- (products.inquiry_summary; migration 0017). Synchronous on a cluster.
-- Parameters: {through:String} the generation (UTC text 'YYYY-MM-DD hh:mm:ss'); {build:String}
--   the claiming build.
-- Result: none (INSERT … SELECT; the time is the server's).
INSERT INTO inquiry_summary_claims
SETTINGS insert_distributed_sync = 1
SELECT toDateTime({through:String}, 'UTC'), {build:String}, now64(6, 'UTC')
