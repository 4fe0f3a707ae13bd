-- consent_trace: the lookups one member made citing one consent reference (jdx consent
-- trace), oldest first. A staff tool: it scans the member's inquiries (ordered by borrower).
-- Parameters: {member:String} the member; {ref:String} the consent reference.
-- Result: queried_at, product, purpose, api_key_id, batch_id, inquiry_id (at most 10,000 rows).
SELECT queried_at, product, purpose, api_key_id, batch_id, toString(inquiry_id) AS inquiry_id
FROM inquiries FINAL
WHERE member_code = {member:String} AND consent_ref = {ref:String}
ORDER BY queried_at, inquiry_id
LIMIT 10000
