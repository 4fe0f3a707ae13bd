-- ingest_scratch_drop: drop one scratch table of ingest_scratch_create.
-- Parameters: {table:Identifier} the scratch table.
-- Result: none (a statement, run with Warehouse.execute).
DROP TABLE IF EXISTS {table:Identifier}
