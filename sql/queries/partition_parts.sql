-- partition_parts: the active parts and rows of one partition of a table (products.compaction
-- reports them before and after the night's merge). On a cluster, of the node that answers
-- (the caller names the <table>_local table).
-- Parameters: {database:String} the warehouse database; {table:String} the table;
--   {partition:String} the partition id (system.parts.partition_id; 'all' when unpartitioned).
-- Result: one row: parts UInt64, rows UInt64.
SELECT count() AS parts, sum(rows) AS rows
FROM system.parts
WHERE active AND database = {database:String} AND table = {table:String}
    AND partition_id = {partition:String}
