-- The merchant alliance: partner merchants, offers kept as data, the
-- benefits they grant, redemptions and the monthly settlement.

-- Whether the customer lets the network send partners their data (an
-- insurer registering a policy needs name, document and phone).
ALTER TABLE customers ADD COLUMN share_with_partners BIGINT NOT NULL DEFAULT 0;

-- Two new kinds of ledger account: a partner merchant's (what the network
-- owes it, or it owes the network) and a station's alliance cost.
ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check CHECK (kind IN ('card', 'cash',
    'bank_card', 'bank_transfer', 'sales', 'promotion', 'clawback', 'partner', 'alliance'));

CREATE TABLE merchants (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    address     TEXT,
    contact     TEXT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE merchant_stations (
    merchant_id BIGINT NOT NULL REFERENCES merchants (id),
    station_id  BIGINT NOT NULL REFERENCES stations (id),
    PRIMARY KEY (merchant_id, station_id)
);

-- An offer: its trigger, benefit and validity as JSON (`definition`), the
-- columns the engine selects and counts by beside it. The counters move
-- only by conditional updates, and the CHECKs hold the budget even so.
CREATE TABLE offers (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE,
    merchant_id     BIGINT NOT NULL REFERENCES merchants (id),
    name            TEXT NOT NULL,
    event           TEXT NOT NULL CHECK (event IN ('card_opened', 'recharge', 'sale',
                        'monthly_spend')),
    definition      TEXT NOT NULL,
    unit_cost_fen   BIGINT NOT NULL CHECK (unit_cost_fen >= 0),
    station_percent BIGINT NOT NULL CHECK (station_percent BETWEEN 0 AND 100),
    budget_count    BIGINT CHECK (budget_count > 0),
    budget_fen      BIGINT CHECK (budget_fen > 0),
    first_n         BIGINT CHECK (first_n > 0),
    per_customer    BIGINT CHECK (per_customer > 0),
    granted         BIGINT NOT NULL DEFAULT 0,
    granted_fen     BIGINT NOT NULL DEFAULT 0,
    customers       BIGINT NOT NULL DEFAULT 0,
    created_by      BIGINT REFERENCES users (id),
    created_at      BIGINT NOT NULL,
    CHECK (budget_count IS NULL OR granted <= budget_count),
    CHECK (budget_fen IS NULL OR granted_fen <= budget_fen),
    CHECK (first_n IS NULL OR customers <= first_n)
);
CREATE INDEX offers_event ON offers (event);

-- How many grants of an offer a holder (a customer, or a card without one)
-- has had: the per-customer cap and "the first N customers" count here.
CREATE TABLE offer_holders (
    offer_id    BIGINT NOT NULL REFERENCES offers (id),
    holder      TEXT NOT NULL,
    grants      BIGINT NOT NULL DEFAULT 0 CHECK (grants >= 0),
    PRIMARY KEY (offer_id, holder)
);

-- A benefit granted to a card by an offer on one event (`event_key`: an
-- event grants an offer's benefit once, however often it is replayed;
-- `granted_by`: the request's event — the sale that reached a monthly
-- spend — which its receipt finds it by).
CREATE TABLE benefits (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    offer_id      BIGINT NOT NULL REFERENCES offers (id),
    card_id       BIGINT NOT NULL REFERENCES cards (id),
    customer_id   BIGINT REFERENCES customers (id),
    station_id    BIGINT REFERENCES stations (id),
    event_key     TEXT NOT NULL,
    granted_by    TEXT NOT NULL,
    voucher_code  TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL CHECK (status IN ('granted', 'redeemed')),
    consent       BIGINT NOT NULL,
    period        TEXT,
    period_used   BIGINT NOT NULL DEFAULT 0 CHECK (period_used >= 0),
    granted_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    UNIQUE (offer_id, event_key)
);
CREATE INDEX benefits_card ON benefits (card_id);
CREATE INDEX benefits_granted_by ON benefits (granted_by);

CREATE TABLE settlements (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merchant_id       BIGINT NOT NULL REFERENCES merchants (id),
    month             TEXT NOT NULL,
    redemptions       BIGINT NOT NULL,
    value_fen         BIGINT NOT NULL,
    station_owes_fen  BIGINT NOT NULL,
    merchant_owes_fen BIGINT NOT NULL,
    operation_id      BIGINT REFERENCES operations (id),
    settled_by        BIGINT REFERENCES users (id),
    settled_at        BIGINT NOT NULL,
    UNIQUE (merchant_id, month)
);

-- A benefit delivered: at the merchant (`station_id` empty) or at a
-- station's counter (a gift). `station_fen` is the station-funded share of
-- `value_fen`; the rest is the merchant's.
CREATE TABLE redemptions (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    benefit_id    BIGINT NOT NULL REFERENCES benefits (id),
    merchant_id   BIGINT NOT NULL REFERENCES merchants (id),
    station_id    BIGINT REFERENCES stations (id),
    user_id       BIGINT NOT NULL REFERENCES users (id),
    period        TEXT NOT NULL,
    value_fen     BIGINT NOT NULL CHECK (value_fen >= 0),
    station_fen   BIGINT NOT NULL CHECK (station_fen >= 0 AND station_fen <= value_fen),
    purchase_fen  BIGINT,
    redeemed_at   BIGINT NOT NULL,
    reversed_at   BIGINT,
    reversed_by   BIGINT REFERENCES users (id),
    settlement_id BIGINT REFERENCES settlements (id)
);
CREATE INDEX redemptions_merchant ON redemptions (merchant_id, period);
CREATE INDEX redemptions_benefit ON redemptions (benefit_id);
