-- Monthly allocation (按月分配): each company's policy as data, and one plan
-- per company and month whose lines the fleet manager edits and approves.

CREATE TABLE allocation_policies (
    company_id  INTEGER PRIMARY KEY REFERENCES customers (id),
    policy      TEXT NOT NULL,
    updated_by  INTEGER REFERENCES users (id),
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE allocation_plans (
    id          INTEGER PRIMARY KEY,
    company_id  INTEGER NOT NULL REFERENCES customers (id),
    month       TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('draft', 'approved')),
    operation_id INTEGER REFERENCES operations (id),
    created_at  INTEGER NOT NULL,
    approved_by INTEGER REFERENCES users (id),
    approved_at INTEGER,
    UNIQUE (company_id, month)
) STRICT;

CREATE TABLE allocation_lines (
    plan_id         INTEGER NOT NULL REFERENCES allocation_plans (id),
    vehicle_id      INTEGER NOT NULL REFERENCES vehicles (id),
    base_fen        INTEGER NOT NULL,
    adjustment_fen  INTEGER NOT NULL,
    amount_fen      INTEGER NOT NULL CHECK (amount_fen >= 0),
    reason          TEXT NOT NULL,
    edited          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (plan_id, vehicle_id)
) STRICT;
