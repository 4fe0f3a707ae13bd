-- table_partitions: the partitions of a table that hold active parts (products.inquiry_summary
-- drops the generations it no longer needs). On a cluster, of the node that answers (the caller
-- names the <table>_local table).
-- Parameters: {database:String} the warehouse database; {table:String} the table.
-- Result: partition_id String, one row each, in order.
SELECT DISTINCT partition_id
FROM system.parts
WHERE active AND database = {database:String} AND table = {table:String}
ORDER BY partition_id
