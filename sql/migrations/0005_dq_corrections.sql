-- 0005 DQ corrections: what a rejected or flagged record was, so that a later accepted record of
-- the same account and as_of_date (a corrected resubmission) can lift the member's DQ score
-- (ingest.dq, docs/ingest.md "Corrections"). The cluster variant is
-- sql/cluster/0005_dq_corrections.sql.
--
-- * as_of_date: the record's as_of_date as the validator read it; NULL for issues of the file,
--   the header, or a record whose as_of_date could not be read (those cannot be matched).
-- * load_seq: the load's sequence number (the ledger's), so "later" is the ledger's order.
-- Rows written before this migration keep NULL and 0: they are never matched.

ALTER TABLE rejections
    ADD COLUMN IF NOT EXISTS as_of_date Nullable(Date),
    ADD COLUMN IF NOT EXISTS load_seq UInt64;
