-- schema_migration_steps: the progress of migration files not yet recorded in schema_migrations
-- (warehouse.migrations resumes an interrupted file from it; see its module docstring).
-- Parameters: none.
-- Result: version UInt32, checksum String (sha256 hex of the file), step UInt32 (1-based
--         statement number), state String ('started': a swap was about to run, with the tables'
--         uuids before it; 'done': the statement completed), tables Map(String, String)
--         (table name -> uuid, for 'started').
-- FINAL: a step recorded twice (a statement repeated after a kill) counts once.
SELECT version, checksum, step, state, tables
FROM schema_migration_steps FINAL
ORDER BY version, step
