-- Customer acquisition: districts (片区), prospects (目标客户) and their
-- development visits, where each card opening came from, flyer batches,
-- and monthly targets. Actuals are never typed in: they come from the card
-- openings, which sales and recharges keep up to date as they happen.

CREATE TABLE districts (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
INSERT INTO districts (code, name, created_at)
    SELECT DISTINCT district, district, 0 FROM stations WHERE district <> '';

CREATE TABLE prospects (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    station_id            BIGINT NOT NULL REFERENCES stations (id),
    owner_id              BIGINT REFERENCES users (id),
    kind                  TEXT NOT NULL
        CHECK (kind IN ('person', 'company', 'fleet', 'community', 'other')),
    name                  TEXT NOT NULL,
    address               TEXT,
    vehicles              BIGINT CHECK (vehicles IS NULL OR vehicles >= 0),
    est_monthly_litres_cl BIGINT CHECK (est_monthly_litres_cl IS NULL OR est_monthly_litres_cl >= 0),
    current_supplier      TEXT,
    current_discount      TEXT,
    contacts              TEXT NOT NULL DEFAULT '[]',
    channel               TEXT,
    stage                 TEXT NOT NULL CHECK (stage IN ('surveyed', 'planned', 'contacted',
                              'negotiating', 'won', 'lost')),
    lost_reason           TEXT,
    customer_id           BIGINT REFERENCES customers (id),
    next_step             TEXT,
    next_at               BIGINT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX prospects_station ON prospects (station_id, stage);

CREATE TABLE prospect_visits (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    prospect_id BIGINT NOT NULL REFERENCES prospects (id),
    user_id     BIGINT REFERENCES users (id),
    visited_at  BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    next_step   TEXT,
    next_at     BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX prospect_visits_prospect ON prospect_visits (prospect_id, visited_at);

-- Flyers handed out by a station, by batch, so a batch's conversion can be
-- read: handed out, cards opened, cards activated.
CREATE TABLE flyer_batches (
    code        TEXT PRIMARY KEY,
    station_id  BIGINT NOT NULL REFERENCES stations (id),
    handed_out  BIGINT NOT NULL CHECK (handed_out >= 0),
    created_at  BIGINT NOT NULL
);

-- Every card opening: who, where, through which channel. `customer_kind` is
-- set when the card brought a new customer (a personal or anonymous card,
-- or a company's main card); a company's other cards are not new customers.
-- `first_sale_at` and `first_recharge_fen` are written by the first sale
-- and the first recharge (a company's through any of its cards), so
-- activation is read from one row.
CREATE TABLE card_openings (
    card_id            BIGINT PRIMARY KEY REFERENCES cards (id),
    user_id            BIGINT REFERENCES users (id),
    station_id         BIGINT REFERENCES stations (id),
    customer_kind      TEXT CHECK (customer_kind IN ('person', 'company')),
    channel            TEXT NOT NULL CHECK (channel IN ('flyer', 'stand', 'referral',
                           'in_station', 'partner', 'visit')),
    channel_ref        TEXT,
    prospect_id        BIGINT REFERENCES prospects (id),
    opened_at          BIGINT NOT NULL,
    first_sale_at      BIGINT,
    first_recharge_fen BIGINT
);
CREATE INDEX card_openings_station ON card_openings (station_id, opened_at);
INSERT INTO card_openings (card_id, station_id, customer_kind, channel, opened_at,
                           first_sale_at, first_recharge_fen)
    SELECT c.id, c.issued_station_id,
           CASE WHEN c.kind IN ('personal', 'anonymous') THEN 'person'
                WHEN c.kind = 'company_main' THEN 'company' END,
           'in_station', c.created_at,
           (SELECT MIN(s.created_at) FROM sales s
              JOIN cards k ON k.id = s.card_id
             WHERE k.id = c.id OR k.parent_card_id = c.id),
           (SELECT r.amount_fen FROM recharges r WHERE r.card_id = c.id
             ORDER BY r.created_at, r.id LIMIT 1)
      FROM cards c;

-- A month's targets for one station or one district.
CREATE TABLE targets (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    month               TEXT NOT NULL,
    station_id          BIGINT REFERENCES stations (id),
    district            TEXT REFERENCES districts (code),
    new_personal        BIGINT CHECK (new_personal IS NULL OR new_personal >= 0),
    new_company         BIGINT CHECK (new_company IS NULL OR new_company >= 0),
    first_recharge_fen  BIGINT CHECK (first_recharge_fen IS NULL OR first_recharge_fen >= 0),
    card_litres_cl      BIGINT CHECK (card_litres_cl IS NULL OR card_litres_cl >= 0),
    set_by              BIGINT REFERENCES users (id),
    set_at              BIGINT NOT NULL,
    CHECK ((station_id IS NULL) <> (district IS NULL))
);
CREATE UNIQUE INDEX targets_station ON targets (month, station_id) WHERE station_id IS NOT NULL;
CREATE UNIQUE INDEX targets_district ON targets (month, district) WHERE district IS NOT NULL;
