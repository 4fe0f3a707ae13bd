-- ingest_scratch_create: a scratch table of keys (account ids or borrower keys) for one load's
-- reference-data queries (ingest.reference). Filled with an Arrow insert, which is far cheaper
-- than sending a million keys as a query parameter, and dropped when the load has its answers.
-- Parameters: {table:Identifier} ingest_scratch_<load id>_<kind>.
-- Result: none (a statement, run with Warehouse.execute).
-- Memory engine: nothing to merge, gone at a restart (the loader drops leftovers at start-up).
-- On a cluster it exists on the node the loader talks to; queries read it with GLOBAL IN.
CREATE TABLE IF NOT EXISTS {table:Identifier} (key String) ENGINE = Memory
