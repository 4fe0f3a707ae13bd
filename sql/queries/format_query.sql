-- format_query: parse one SQL statement with the server's own parser and print it canonically.
-- Used by tests/test_cluster_ddl.py to check every migration and cluster statement parses
-- (ClickHouse's formatQuery() parses without executing, so ON CLUSTER and Replicated engines
-- can be checked on chDB, which has neither a cluster nor Keeper).
-- Parameters: {statement:String} the statement text (a parameter: it is data, never executed).
-- Result: one row; formatted String. A syntax error fails the query with SYNTAX_ERROR (code 62).
SELECT formatQuery({statement:String}) AS formatted
