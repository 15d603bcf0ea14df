-- Monthly allocation (按月分配): each company's policy as data, and one plan
-- per company and month whose lines the fleet manager edits and approves.

CREATE TABLE allocation_policies (
    company_id  BIGINT PRIMARY KEY REFERENCES customers (id),
    policy      TEXT NOT NULL,
    updated_by  BIGINT REFERENCES users (id),
    updated_at  BIGINT NOT NULL
);

CREATE TABLE allocation_plans (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id  BIGINT NOT NULL REFERENCES customers (id),
    month       TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('draft', 'approved')),
    operation_id BIGINT REFERENCES operations (id),
    created_at  BIGINT NOT NULL,
    approved_by BIGINT REFERENCES users (id),
    approved_at BIGINT,
    UNIQUE (company_id, month)
);

CREATE TABLE allocation_lines (
    plan_id         BIGINT NOT NULL REFERENCES allocation_plans (id),
    vehicle_id      BIGINT NOT NULL REFERENCES vehicles (id),
    base_fen        BIGINT NOT NULL,
    adjustment_fen  BIGINT NOT NULL,
    amount_fen      BIGINT NOT NULL CHECK (amount_fen >= 0),
    reason          TEXT NOT NULL,
    edited          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (plan_id, vehicle_id)
);
