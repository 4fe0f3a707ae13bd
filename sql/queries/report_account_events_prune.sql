-- report_account_events_prune: remove the account events of generations that a newer 'events'
-- stamp has replaced (a statement, run by reports.aggregates after writing new stamps).
-- Parameters:
--   {months:Array(Date)}    the months just computed
--   {keep:Array(String)}    the current generations of those months
-- Result: none. A lightweight DELETE, as report_aggregates_prune (skipped on a cluster).
DELETE FROM report_account_events
WHERE month IN {months:Array(Date)} AND generation NOT IN {keep:Array(String)}
