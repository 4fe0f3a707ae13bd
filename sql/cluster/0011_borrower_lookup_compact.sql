-- 0011 borrower_lookup as compact parts (issue 16), cluster variant of
-- sql/migrations/0011_borrower_lookup_compact.sql (see its header: a merge of an existing wide
-- part stays wide, so a table that held data before 0007 is rebuilt to get compact parts).
-- ON CLUSTER DDL cannot copy rows, and a copy of a replicated table needs its own Keeper path:
-- a cluster that held data before 0007 rebuilds borrower_lookup_local on every shard, once, as the
-- single-node file does (a copy with the same columns and settings on a new Keeper path, filled
-- from the table, swapped in by name, the three views created again). This file only merges it.
OPTIMIZE TABLE {database:Identifier}.borrower_lookup_local ON CLUSTER '{cluster}' FINAL;
