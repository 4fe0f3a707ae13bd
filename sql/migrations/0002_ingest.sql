-- 0002 ingest: keys for the loader's per-file rows (single node / chDB).
-- The cluster variant is sql/cluster/0002_ingest.sql.
--
-- * rejections: two issues of one file may share (line, field, code) — two unknown header columns
--   (F112), two problems of the control file (F103) — and the replacing table would keep one.
--   `issue` is the issue's position in the file's issue list (0, 1, 2 …, the order of
--   <base>.errors.csv), so every issue is its own row and a replayed load writes the same keys.
-- * dq_daily: one row per member, day, dimension, field *and load*: a member may send several
--   files for one day, and each keeps its own counts; readers sum passed and checked over loads
--   (with FINAL, so a replayed load counts once).
-- ClickHouse lets a sorting key grow only by columns added in the same ALTER, hence the pairs.

ALTER TABLE rejections
    ADD COLUMN IF NOT EXISTS issue UInt32,
    MODIFY ORDER BY (member_code, load_id, line, field, code, issue);

ALTER TABLE dq_daily
    ADD COLUMN IF NOT EXISTS load_id String,
    MODIFY ORDER BY (member_code, day, dimension, field, load_id);
