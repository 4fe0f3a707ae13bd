-- inquiry_summary_record: record a generation of inquiry_summary as whole (readers take the
-- newest recorded one; products.inquiry_summary). Synchronous on a cluster.
-- Parameters: {through:String} the generation (UTC text 'YYYY-MM-DD hh:mm:ss');
--   {first_day:Date} the oldest day it holds.
-- Result: none (INSERT … SELECT).
INSERT INTO inquiry_summary_builds
SETTINGS insert_distributed_sync = 1
SELECT toDateTime({through:String}, 'UTC'), {first_day:Date}, now64(3, 'UTC'), count()
FROM inquiry_summary
WHERE through = toDateTime({through:String}, 'UTC')
