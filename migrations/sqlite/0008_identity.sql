-- The kind of ID document a customer's `id_number` is, so that a counter
-- can check a holder who forgot the PIN or lost the card against the
-- record: the document kind and its number must both match.
ALTER TABLE customers ADD COLUMN id_kind TEXT;
UPDATE customers SET id_kind = 'resident_id' WHERE id_number IS NOT NULL;
