-- schema_columns: the columns of one table of the exchange's database (privacy scans, docs).
-- Parameters: {database:String}, {table:String}
-- Result: name String, type String, position UInt64
SELECT name, type, position
FROM system.columns
WHERE database = {database:String} AND table = {table:String}
ORDER BY position
