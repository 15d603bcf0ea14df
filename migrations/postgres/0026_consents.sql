-- Consent to share data with partners is the customer's own act (PIPL
-- Art. 23): every change of it is kept, with what showed the customer was
-- there — their card's PIN ('pin'), their ID document checked against the
-- record ('identity') — or, for a withdrawal, their word alone ('word').
CREATE TABLE customer_consents (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    given       BIGINT NOT NULL CHECK (given IN (0, 1)),
    evidence    TEXT NOT NULL CHECK (evidence IN ('pin', 'identity', 'word')),
    card_id     BIGINT REFERENCES cards (id),
    user_id     BIGINT REFERENCES users (id),
    station_id  BIGINT REFERENCES stations (id),
    changed_at  BIGINT NOT NULL
);
CREATE INDEX customer_consents_customer ON customer_consents (customer_id, changed_at);

-- ID documents are guessed like PINs: a card counts its wrong documents in
-- a row (a right one starts again from nothing) and, at the limit, accepts
-- no document until head office unlocks it (`identity_locked_at`).
ALTER TABLE cards ADD COLUMN identity_failures BIGINT NOT NULL DEFAULT 0
    CHECK (identity_failures >= 0);
ALTER TABLE cards ADD COLUMN identity_locked_at BIGINT;
