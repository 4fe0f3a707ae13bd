-- schema_migrations: the applied migrations, oldest first (used by warehouse.migrate and status).
-- Parameters: none.
-- Result: version UInt32, name String, checksum String (sha256 hex of the file applied),
--         variant String ('single' = sql/migrations/, 'cluster' = sql/cluster/),
--         applied_at DateTime64(3, 'UTC').
-- FINAL: a version recorded twice (two racing migrate runs) counts once.
SELECT version, name, checksum, variant, applied_at
FROM schema_migrations FINAL
ORDER BY version
