-- lookup_floor: the engine's floor for a lookup, a point aggregate over one merged table
-- (accounts_current, one part after OPTIMIZE … FINAL) of the same borrower; bench/lookups.py
-- times it beside lookup_borrower in the same run (issue 16's goal: lookup_borrower ≤ 1.3×).
-- Parameters: {key:String} borrower_key (64 hex).
-- Result: one row:
--   accounts  UInt64          account rows stored for the borrower (versions not collapsed)
--   balance   Decimal(38, 2)  their balance
--   worst     UInt16          their highest dpd
SELECT count() AS accounts, sum(balance) AS balance, max(dpd) AS worst
FROM accounts_current
WHERE borrower_key = {key:String}
SETTINGS max_threads = 1
