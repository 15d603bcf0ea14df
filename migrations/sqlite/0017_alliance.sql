-- The merchant alliance: partner merchants, offers kept as data, the
-- benefits they grant, redemptions and the monthly settlement.

-- Whether the customer lets the network send partners their data (an
-- insurer registering a policy needs name, document and phone).
ALTER TABLE customers ADD COLUMN share_with_partners INTEGER NOT NULL DEFAULT 0;

-- Two new kinds of ledger account: a partner merchant's (what the network
-- owes it, or it owes the network) and a station's alliance cost. SQLite
-- cannot change a CHECK in place, so the table is rebuilt (the migrations
-- run with foreign keys off and are checked after); every row keeps its id.
CREATE TABLE accounts_next (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('card', 'cash', 'bank_card', 'bank_transfer',
                    'sales', 'promotion', 'clawback', 'partner', 'alliance')),
    name        TEXT NOT NULL UNIQUE,
    balance_fen INTEGER NOT NULL DEFAULT 0,
    bonus_fen   INTEGER NOT NULL DEFAULT 0,
    held_fen    INTEGER NOT NULL DEFAULT 0 CHECK (held_fen >= 0),
    floor_fen   INTEGER,
    created_at  INTEGER NOT NULL,
    CHECK (floor_fen IS NULL OR (balance_fen - held_fen >= floor_fen
           AND bonus_fen >= 0 AND (bonus_fen = 0 OR bonus_fen <= balance_fen)))
) STRICT;
INSERT INTO accounts_next SELECT * FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_next RENAME TO accounts;

CREATE TABLE merchants (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    address     TEXT,
    contact     TEXT,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE merchant_stations (
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    station_id  INTEGER NOT NULL REFERENCES stations (id),
    PRIMARY KEY (merchant_id, station_id)
) STRICT;

-- An offer: its trigger, benefit and validity as JSON (`definition`), the
-- columns the engine selects and counts by beside it. The counters move
-- only by conditional updates, and the CHECKs hold the budget even so.
CREATE TABLE offers (
    id              INTEGER PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE,
    merchant_id     INTEGER NOT NULL REFERENCES merchants (id),
    name            TEXT NOT NULL,
    event           TEXT NOT NULL CHECK (event IN ('card_opened', 'recharge', 'sale',
                        'monthly_spend')),
    definition      TEXT NOT NULL,
    unit_cost_fen   INTEGER NOT NULL CHECK (unit_cost_fen >= 0),
    station_percent INTEGER NOT NULL CHECK (station_percent BETWEEN 0 AND 100),
    budget_count    INTEGER CHECK (budget_count > 0),
    budget_fen      INTEGER CHECK (budget_fen > 0),
    first_n         INTEGER CHECK (first_n > 0),
    per_customer    INTEGER CHECK (per_customer > 0),
    granted         INTEGER NOT NULL DEFAULT 0,
    granted_fen     INTEGER NOT NULL DEFAULT 0,
    customers       INTEGER NOT NULL DEFAULT 0,
    created_by      INTEGER REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    CHECK (budget_count IS NULL OR granted <= budget_count),
    CHECK (budget_fen IS NULL OR granted_fen <= budget_fen),
    CHECK (first_n IS NULL OR customers <= first_n)
) STRICT;
CREATE INDEX offers_event ON offers (event);

-- How many grants of an offer a holder (a customer, or a card without one)
-- has had: the per-customer cap and "the first N customers" count here.
CREATE TABLE offer_holders (
    offer_id    INTEGER NOT NULL REFERENCES offers (id),
    holder      TEXT NOT NULL,
    grants      INTEGER NOT NULL DEFAULT 0 CHECK (grants >= 0),
    PRIMARY KEY (offer_id, holder)
) STRICT;

-- A benefit granted to a card by an offer on one event (`event_key`: an
-- event grants an offer's benefit once, however often it is replayed;
-- `granted_by`: the request's event — the sale that reached a monthly
-- spend — which its receipt finds it by).
CREATE TABLE benefits (
    id            INTEGER PRIMARY KEY,
    offer_id      INTEGER NOT NULL REFERENCES offers (id),
    card_id       INTEGER NOT NULL REFERENCES cards (id),
    customer_id   INTEGER REFERENCES customers (id),
    station_id    INTEGER REFERENCES stations (id),
    event_key     TEXT NOT NULL,
    granted_by    TEXT NOT NULL,
    voucher_code  TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL CHECK (status IN ('granted', 'redeemed')),
    consent       INTEGER NOT NULL,
    period        TEXT,
    period_used   INTEGER NOT NULL DEFAULT 0 CHECK (period_used >= 0),
    granted_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    UNIQUE (offer_id, event_key)
) STRICT;
CREATE INDEX benefits_card ON benefits (card_id);
CREATE INDEX benefits_granted_by ON benefits (granted_by);

CREATE TABLE settlements (
    id                INTEGER PRIMARY KEY,
    merchant_id       INTEGER NOT NULL REFERENCES merchants (id),
    month             TEXT NOT NULL,
    redemptions       INTEGER NOT NULL,
    value_fen         INTEGER NOT NULL,
    station_owes_fen  INTEGER NOT NULL,
    merchant_owes_fen INTEGER NOT NULL,
    operation_id      INTEGER REFERENCES operations (id),
    settled_by        INTEGER REFERENCES users (id),
    settled_at        INTEGER NOT NULL,
    UNIQUE (merchant_id, month)
) STRICT;

-- A benefit delivered: at the merchant (`station_id` empty) or at a
-- station's counter (a gift). `station_fen` is the station-funded share of
-- `value_fen`; the rest is the merchant's.
CREATE TABLE redemptions (
    id            INTEGER PRIMARY KEY,
    benefit_id    INTEGER NOT NULL REFERENCES benefits (id),
    merchant_id   INTEGER NOT NULL REFERENCES merchants (id),
    station_id    INTEGER REFERENCES stations (id),
    user_id       INTEGER NOT NULL REFERENCES users (id),
    period        TEXT NOT NULL,
    value_fen     INTEGER NOT NULL CHECK (value_fen >= 0),
    station_fen   INTEGER NOT NULL CHECK (station_fen >= 0 AND station_fen <= value_fen),
    purchase_fen  INTEGER,
    redeemed_at   INTEGER NOT NULL,
    reversed_at   INTEGER,
    reversed_by   INTEGER REFERENCES users (id),
    settlement_id INTEGER REFERENCES settlements (id)
) STRICT;
CREATE INDEX redemptions_merchant ON redemptions (merchant_id, period);
CREATE INDEX redemptions_benefit ON redemptions (benefit_id);
