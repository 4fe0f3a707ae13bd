-- distinct_values: every distinct value of one column (privacy scans in tests and audits).
-- Parameters: {table:Identifier}, {column:Identifier} — identifiers, bound by the server, never
-- spliced into the text; the client's database is the exchange's.
-- Result: value (the column's type)
SELECT DISTINCT {column:Identifier} AS value
FROM {table:Identifier}
