-- 0004 report aggregates: each month's member-level statistics, kept so that a release
-- aggregates only the months whose data changed (single node / chDB).
-- The cluster variant is sql/cluster/0004_report_aggregates.sql.
--
-- reports.aggregates writes and reads this table (docs/reports.md, "Incremental statistics").
-- A *computation* of one (month, kind) writes its rows under a fresh `generation` id, then one
-- stamp row (is_stamp = 1) naming that generation and the fingerprint of the data it read. A
-- release reads, for each (month, kind), the latest stamp; when its fingerprint still equals the
-- month's data (named query report_fingerprints) the rows of that generation are used, otherwise
-- the month is computed again. Rows of older generations are never read (a crash between the
-- rows and their stamp leaves rows no stamp names: harmless) and are removed after a newer
-- stamp is written.
-- Kinds (the named query each mirrors, restricted to one month; keys and quantities used):
--   months       report_month_counts: members, accounts, as_of
--   series       report_series:       member_code, key1 = bucket; accounts, balance
--   lenders      report_lenders:      key1 = band, member_code; borrowers, accounts, balance,
--                                     accounts_30, balance_30, accounts_90, balance_90
--   segments     report_segments:     key1 = dimension, key2 = value, member_code,
--                                     key3 = bucket; accounts, balance
--   transitions  report_transitions:  member_code, key1 = from_state, key2 = to_state;
--                                     accounts, balance_fen (the months before and this one)
--   vintage      report_vintage_month: key1 = cohort (YYYY-MM-DD), key2 = 'accounts' (first
--                                     reported this month), '30' / '90' (first 30+ / 90+ this
--                                     month) or 'irregular', key3 = months on book,
--                                     member_code; accounts, balance = their credit amount
--   events       (stamp only) the generation of report_account_events rows of the month
-- Money: Decimal(38, 2), the type of sum() over Decimal(18, 2): exact, as the queries return it.
CREATE TABLE IF NOT EXISTS report_aggregates
(
    month         Date,                         -- the month the figures belong to (first day)
    kind          LowCardinality(String),
    generation    String,                       -- one computation of (month, kind)
    is_stamp      UInt8,                        -- 1: the stamp row of the generation
    fingerprint   String,                       -- stamp: the data the generation was built from
    member_code   LowCardinality(String),
    key1          LowCardinality(String),
    key2          LowCardinality(String),
    key3          LowCardinality(String),
    borrowers     UInt64,
    accounts      UInt64,
    balance       Decimal(38, 2),
    accounts_30   UInt64,
    balance_30    Decimal(38, 2),
    accounts_90   UInt64,
    balance_90    Decimal(38, 2),
    balance_fen   UInt64,
    members       UInt64,
    as_of         Date,
    computed_at   DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (month, kind, generation, is_stamp, member_code, key1, key2, key3);

-- report_account_events: what a month's vintage rows need to know of earlier months, per
-- account (keyed like report_vintage by two 64-bit hashes of (member_code, account_id)):
--   event 'late'       the account was 30+ (d30) or 90+ (d90) dpd, or written off, at the month
--                      end
--   event 'arrival'    the account has a state this month and none the month before (a new
--                      account, or one back after a gap)
--   event 'irregular'  two states of the account this month, an opened_date or credit_amount
--                      other than the month before, or a state before the opening month
-- with the month's opened_date and credit_amount (for 'irregular' the latest opened_date of the
-- two months). A few per cent of account_months' rows ('late') plus one row per account
-- ('arrival'); 'irregular' rows do not occur in clean data.
-- Written by the statement report_account_events_fill under the generation named by the
-- month's 'events' stamp in report_aggregates; older generations are deleted like there.
CREATE TABLE IF NOT EXISTS report_account_events
(
    month          Date,
    generation     String,
    event          LowCardinality(String),
    member_code    LowCardinality(String),
    key1           UInt64,                      -- cityHash64(member_code, account_id)
    key2           UInt64,                      -- xxHash64(member_code, account_id)
    d30            UInt8,
    d90            UInt8,
    opened_date    Date,
    credit_amount  Decimal(18, 2)
)
ENGINE = MergeTree
ORDER BY (event, month, generation, key1, key2);
