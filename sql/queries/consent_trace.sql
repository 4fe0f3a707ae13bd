-- The lookups one member made citing one consent reference (jdx consent trace), oldest first.
-- A staff tool: it scans the member's inquiries (the table is ordered by borrower).
SELECT queried_at, product, purpose, api_key_id, batch_id, toString(inquiry_id) AS inquiry_id
FROM inquiries FINAL
WHERE member_code = {member:String} AND consent_ref = {ref:String}
ORDER BY queried_at, inquiry_id
LIMIT 10000
