-- A plate is unique within its company, not across companies: a vehicle
-- one company has sold can be registered by the company that bought it.
-- SQLite cannot drop a column's UNIQUE in place, so the table is rebuilt
-- (the migrations run with foreign keys off and are checked after): every
-- row keeps its id, so what refers to a vehicle still finds it.
CREATE TABLE vehicles_next (
    id                      INTEGER PRIMARY KEY,
    company_id              INTEGER NOT NULL REFERENCES customers (id),
    plate                   TEXT NOT NULL,
    vehicle_type            TEXT NOT NULL,
    displacement_ml         INTEGER NOT NULL CHECK (displacement_ml >= 0),
    products                TEXT NOT NULL,
    tank_capacity_cl        INTEGER NOT NULL CHECK (tank_capacity_cl > 0),
    baseline_cl_per_100km   INTEGER NOT NULL CHECK (baseline_cl_per_100km >= 0),
    department              TEXT,
    default_driver          TEXT,
    card_id                 INTEGER UNIQUE REFERENCES cards (id),
    max_sale_cl             INTEGER,
    max_sale_fen            INTEGER,
    max_day_cl              INTEGER,
    max_day_fen             INTEGER,
    allowed_hours           TEXT,
    allowed_stations        TEXT,
    controls                TEXT NOT NULL DEFAULT '{}',
    last_odometer_km        INTEGER,
    active                  INTEGER NOT NULL DEFAULT 1,
    created_at              INTEGER NOT NULL,
    UNIQUE (company_id, plate)
) STRICT;
INSERT INTO vehicles_next SELECT * FROM vehicles;
DROP TABLE vehicles;
ALTER TABLE vehicles_next RENAME TO vehicles;
CREATE INDEX vehicles_company ON vehicles (company_id);
