-- cluster_check: does the server define the cluster that sql/cluster/ DDL will run ON CLUSTER?
-- The cluster DDL names the cluster through the server's {cluster} macro (so the files stay
-- literal and their checksums mean something); warehouse.migrate checks the macro names the
-- configured cluster before applying anything.
-- Parameters: {cluster:String} the configured cluster name (JDX_WAREHOUSE_CLUSTER).
-- Result: one row; macro_cluster String ('' when the server has no {cluster} macro),
--         hosts UInt64 (rows of system.clusters for the configured cluster, 0 if unknown).
SELECT
    (SELECT any(substitution) FROM system.macros WHERE macro = 'cluster') AS macro_cluster,
    (SELECT count() FROM system.clusters WHERE cluster = {cluster:String}) AS hosts
