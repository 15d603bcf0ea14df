-- Fleet: vehicles bound one-to-one to fleet cards, their sale-time limits,
-- running usage counters per vehicle and period (so a limit check never
-- scans the refuel log), one-off overrides, and the refuel facts on sales.

CREATE TABLE vehicles (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id              BIGINT NOT NULL REFERENCES customers (id),
    plate                   TEXT NOT NULL UNIQUE,
    vehicle_type            TEXT NOT NULL,
    displacement_ml         BIGINT NOT NULL CHECK (displacement_ml >= 0),
    products                TEXT NOT NULL,
    tank_capacity_cl        BIGINT NOT NULL CHECK (tank_capacity_cl > 0),
    baseline_cl_per_100km   BIGINT NOT NULL CHECK (baseline_cl_per_100km >= 0),
    department              TEXT,
    default_driver          TEXT,
    card_id                 BIGINT UNIQUE REFERENCES cards (id),
    max_sale_cl             BIGINT,
    max_sale_fen            BIGINT,
    max_day_cl              BIGINT,
    max_day_fen             BIGINT,
    allowed_hours           TEXT,
    allowed_stations        TEXT,
    controls                TEXT NOT NULL DEFAULT '{}',
    last_odometer_km        BIGINT,
    active                  BIGINT NOT NULL DEFAULT 1,
    created_at              BIGINT NOT NULL
);
CREATE INDEX vehicles_company ON vehicles (company_id);

-- `period` is a local day (YYYY-MM-DD) or month (YYYY-MM).
CREATE TABLE vehicle_usage (
    vehicle_id  BIGINT NOT NULL REFERENCES vehicles (id),
    period      TEXT NOT NULL,
    litres_cl   BIGINT NOT NULL DEFAULT 0,
    amount_fen  BIGINT NOT NULL DEFAULT 0,
    refuels     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (vehicle_id, period)
);

-- An approved monthly allocation caps the vehicle's spending that month.
CREATE TABLE vehicle_allocations (
    vehicle_id  BIGINT NOT NULL REFERENCES vehicles (id),
    month       TEXT NOT NULL,
    amount_fen  BIGINT NOT NULL CHECK (amount_fen >= 0),
    approved_at BIGINT NOT NULL,
    PRIMARY KEY (vehicle_id, month)
);

-- A manager's one-off permission to pass one control on the next sale.
CREATE TABLE limit_overrides (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vehicle_id  BIGINT NOT NULL REFERENCES vehicles (id),
    control     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    granted_by  BIGINT NOT NULL REFERENCES users (id),
    expires_at  BIGINT NOT NULL,
    used_by_sale BIGINT REFERENCES sales (id),
    created_at  BIGINT NOT NULL
);
CREATE INDEX limit_overrides_open ON limit_overrides (vehicle_id, used_by_sale);

ALTER TABLE sales ADD COLUMN vehicle_id BIGINT REFERENCES vehicles (id);
ALTER TABLE sales ADD COLUMN alerts TEXT;
CREATE INDEX sales_vehicle ON sales (vehicle_id, created_at);
