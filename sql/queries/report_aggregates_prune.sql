-- report_aggregates_prune: remove the rows of computations that a newer stamp has replaced
-- (a statement, run with Warehouse.execute by reports.aggregates after writing new stamps).
-- Parameters:
--   {months:Array(Date)}    the months just computed
--   {keep:Array(String)}    the current generations (of every kind) of those months
-- Result: none. A lightweight DELETE: the rows disappear from reads at once and from disk at
-- the next merge. (On a cluster, report_aggregates is Distributed: run it against
-- report_aggregates_local ON CLUSTER instead; reports.aggregates skips it there, and stale
-- generations are never read anyway.)
DELETE FROM report_aggregates
WHERE month IN {months:Array(Date)} AND generation NOT IN {keep:Array(String)}
