-- A plate is unique within its company, not across companies: a vehicle
-- one company has sold can be registered by the company that bought it.
ALTER TABLE vehicles DROP CONSTRAINT vehicles_plate_key;
ALTER TABLE vehicles ADD CONSTRAINT vehicles_company_plate UNIQUE (company_id, plate);
