-- Fleet requests beside the monthly plan: early top-ups for a vehicle
-- running low, card lending for long trips (借用登记), and cash refuels
-- made by exception.

CREATE TABLE topup_requests (
    id            INTEGER PRIMARY KEY,
    company_id    INTEGER NOT NULL REFERENCES customers (id),
    vehicle_id    INTEGER NOT NULL REFERENCES vehicles (id),
    amount_fen    INTEGER NOT NULL CHECK (amount_fen > 0),
    reason        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'rejected')),
    requested_by  INTEGER NOT NULL REFERENCES users (id),
    decided_by    INTEGER REFERENCES users (id),
    operation_id  INTEGER REFERENCES operations (id),
    created_at    INTEGER NOT NULL,
    decided_at    INTEGER
) STRICT;
CREATE INDEX topup_requests_company ON topup_requests (company_id, status);

CREATE TABLE card_loans (
    id            INTEGER PRIMARY KEY,
    company_id    INTEGER NOT NULL REFERENCES customers (id),
    vehicle_id    INTEGER NOT NULL REFERENCES vehicles (id),
    driver        TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    route         TEXT NOT NULL,
    starts_on     TEXT NOT NULL,
    ends_on       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'handed_out', 'returned', 'rejected')),
    requested_by  INTEGER NOT NULL REFERENCES users (id),
    approved_by   INTEGER REFERENCES users (id),
    handed_out_at INTEGER,
    returned_at   INTEGER,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX card_loans_vehicle ON card_loans (vehicle_id, status);

CREATE TABLE cash_refuels (
    id            INTEGER PRIMARY KEY,
    company_id    INTEGER NOT NULL REFERENCES customers (id),
    vehicle_id    INTEGER NOT NULL REFERENCES vehicles (id),
    product_id    INTEGER NOT NULL REFERENCES products (id),
    litres_cl     INTEGER NOT NULL CHECK (litres_cl > 0),
    amount_fen    INTEGER NOT NULL CHECK (amount_fen > 0),
    reason        TEXT NOT NULL,
    approved_by   INTEGER NOT NULL REFERENCES users (id),
    station       TEXT,
    refuelled_at  INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX cash_refuels_company ON cash_refuels (company_id, refuelled_at);

ALTER TABLE sales ADD COLUMN loan_id INTEGER REFERENCES card_loans (id);
