-- schema_table_uuids: the tables and views of a database with their uuids, which RENAME and
-- EXCHANGE TABLES keep with the data (warehouse.migrations checks them to tell whether an
-- interrupted swap already ran).
-- Parameters: {database:String} the warehouse's database.
-- Result: name String, uuid String (all zeros in a database that has no uuids).
SELECT name, toString(uuid) AS uuid
FROM system.tables
WHERE database = {database:String}
