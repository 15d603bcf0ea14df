-- The customer archive: what the network knows of a customer beyond the
-- card holder's identity. A company's registration number (the unified
-- social credit code) is unique among records that hold one; a record
-- found to be a second record of the same customer is merged into the one
-- that stays and points at it (`merged_into`), kept for its history but no
-- longer found.
ALTER TABLE customers ADD COLUMN registration_number TEXT;
ALTER TABLE customers ADD COLUMN preferred_station_id INTEGER REFERENCES stations (id);
ALTER TABLE customers ADD COLUMN notes TEXT;
ALTER TABLE customers ADD COLUMN marketing_consent INTEGER NOT NULL DEFAULT 0
    CHECK (marketing_consent IN (0, 1));
ALTER TABLE customers ADD COLUMN merged_into INTEGER REFERENCES customers (id);
CREATE UNIQUE INDEX customers_registration ON customers (registration_number)
    WHERE registration_number IS NOT NULL;

-- A customer's contacts: a person's family, a company's people and who of
-- them decides. Dates as YYYY-MM-DD.
CREATE TABLE customer_contacts (
    id             INTEGER PRIMARY KEY,
    customer_id    INTEGER NOT NULL REFERENCES customers (id),
    name           TEXT NOT NULL,
    role           TEXT,
    phone          TEXT,
    birthday       TEXT,
    anniversary    TEXT,
    decision_maker INTEGER NOT NULL DEFAULT 0 CHECK (decision_maker IN (0, 1)),
    added_by       INTEGER REFERENCES users (id),
    added_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX customer_contacts_customer ON customer_contacts (customer_id);
