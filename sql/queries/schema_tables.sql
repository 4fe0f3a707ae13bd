-- schema_tables: every table of the exchange's database with its size (jdx warehouse status).
-- Parameters: {database:String} the warehouse database.
-- Result: table String, engine String,
--         rows Nullable(UInt64)   stored rows before FINAL deduplication; NULL for views and
--                                 Distributed tables, which store nothing themselves,
--         active_parts UInt64, bytes_on_disk UInt64 (active parts, compressed, this node only).
SELECT
    t.name AS table,
    t.engine AS engine,
    t.total_rows AS rows,
    coalesce(p.parts, 0) AS active_parts,
    coalesce(p.bytes, 0) AS bytes_on_disk
FROM system.tables AS t
LEFT JOIN
(
    SELECT table, count() AS parts, sum(bytes_on_disk) AS bytes
    FROM system.parts
    WHERE database = {database:String} AND active
    GROUP BY table
) AS p ON p.table = t.name
WHERE t.database = {database:String} AND NOT t.is_temporary
ORDER BY t.name
