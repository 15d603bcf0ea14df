-- A vehicle's card is lent out on one loan at a time, held by the database:
-- two hand-outs racing on two servers cannot both pass a check that reads
-- the other's row before it commits.
CREATE UNIQUE INDEX card_loans_one_out ON card_loans (vehicle_id) WHERE status = 'handed_out';
