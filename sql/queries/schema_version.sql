-- schema_version: the highest applied warehouse migration.
-- Parameters: none.
-- Result: one row; version UInt32 (0 when schema_migrations is empty).
-- Fails with UNKNOWN_TABLE on a warehouse never migrated; Warehouse.schema_version() maps that to 0.
SELECT max(version) AS version
FROM schema_migrations
