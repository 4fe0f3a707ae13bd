-- ingest_scratch_tables: scratch tables left behind by loads that did not finish (a crash), so
-- the loader can drop them at start-up.
-- Parameters: none.
-- Result: name String, one row per table of this database whose name starts with ingest_scratch_.
SELECT name
FROM system.tables
WHERE database = currentDatabase() AND startsWith(name, 'ingest_scratch_')
ORDER BY name
