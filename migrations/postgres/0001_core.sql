-- Station core: stations, users, products and prices, customers, cards,
-- the ledger (accounts, operations, transfers, holds), idempotency, shifts,
-- promotions, recharges, sales and the audit log.
--
-- Conventions (kept identical in migrations/postgres):
--   * money is integer fen (`*_fen`), volume integer centilitres (`*_cl`);
--   * every `*_at` column is microseconds since the Unix epoch, UTC;
--   * booleans are 0/1 integers so one query text serves both backends.

CREATE TABLE stations (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    district    TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

CREATE TABLE customers (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('person', 'company')),
    name         TEXT NOT NULL,
    phone        TEXT,
    id_number    TEXT,
    contact_name TEXT,
    address      TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX customers_phone ON customers (phone);

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'hq', 'district_manager',
                      'station_manager', 'cashier', 'fleet_manager', 'merchant')),
    station_id    BIGINT REFERENCES stations (id),
    company_id    BIGINT REFERENCES customers (id),
    merchant      TEXT,
    district      TEXT,
    active        BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT REFERENCES users (id),
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE products (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Prices are never edited: a new row with a later `effective_from` replaces
-- the old price from that moment, so a sale is always priced as of its time.
CREATE TABLE product_prices (
    id                          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id                  BIGINT NOT NULL REFERENCES products (id),
    unit_price_fen              BIGINT NOT NULL CHECK (unit_price_fen > 0),
    card_discount_fen_per_litre BIGINT NOT NULL CHECK (card_discount_fen_per_litre >= 0
                                    AND card_discount_fen_per_litre < unit_price_fen),
    effective_from              BIGINT NOT NULL,
    created_by                  BIGINT REFERENCES users (id),
    created_at                  BIGINT NOT NULL
);
CREATE INDEX product_prices_in_force ON product_prices (product_id, effective_from);

-- A ledger account. `floor_fen` NULL marks a system account (cash clearing,
-- sales, promotion expense) that may go negative; a card account has floor 0
-- and the CHECK is the last line of defence behind the conditional UPDATEs.
-- `bonus_fen` is the part of the balance that is promotion money.
CREATE TABLE accounts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('card', 'cash', 'bank_card', 'bank_transfer',
                    'sales', 'promotion', 'clawback')),
    name        TEXT NOT NULL UNIQUE,
    balance_fen BIGINT NOT NULL DEFAULT 0,
    bonus_fen   BIGINT NOT NULL DEFAULT 0,
    held_fen    BIGINT NOT NULL DEFAULT 0 CHECK (held_fen >= 0),
    floor_fen   BIGINT,
    created_at  BIGINT NOT NULL,
    CHECK (floor_fen IS NULL OR (balance_fen - held_fen >= floor_fen
           AND bonus_fen >= 0 AND (bonus_fen = 0 OR bonus_fen <= balance_fen)))
);

CREATE TABLE cards (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number              TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL CHECK (kind IN ('personal', 'company_main', 'company_sub',
                            'fleet', 'anonymous')),
    status              TEXT NOT NULL CHECK (status IN ('active', 'locked', 'lost', 'replaced',
                            'closed')),
    customer_id         BIGINT REFERENCES customers (id),
    parent_card_id      BIGINT REFERENCES cards (id),
    account_id          BIGINT NOT NULL UNIQUE REFERENCES accounts (id),
    plate               TEXT,
    pin_salt            TEXT,
    pin_verifier        TEXT,
    pin_failures        BIGINT NOT NULL DEFAULT 0,
    issued_station_id   BIGINT REFERENCES stations (id),
    lost_at             BIGINT,
    replaced_by_card_id BIGINT REFERENCES cards (id),
    created_at          BIGINT NOT NULL,
    closed_at           BIGINT
);
CREATE INDEX cards_customer ON cards (customer_id);
CREATE INDEX cards_parent ON cards (parent_card_id);

-- One business event (a recharge, a sale, a transfer between cards …). Its
-- money movements are the transfers that name it.
CREATE TABLE operations (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT NOT NULL,
    card_id         BIGINT REFERENCES cards (id),
    station_id      BIGINT REFERENCES stations (id),
    shift_id        BIGINT,
    user_id         BIGINT REFERENCES users (id),
    detail          TEXT NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL
);
CREATE INDEX operations_card ON operations (card_id, id);

-- Immutable double-entry transfers: never updated, never deleted.
CREATE TABLE transfers (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_id            BIGINT NOT NULL REFERENCES operations (id),
    debit_account_id        BIGINT NOT NULL REFERENCES accounts (id),
    credit_account_id       BIGINT NOT NULL REFERENCES accounts (id),
    amount_fen              BIGINT NOT NULL CHECK (amount_fen > 0),
    bonus_fen               BIGINT NOT NULL CHECK (bonus_fen >= 0 AND bonus_fen <= amount_fen),
    debit_balance_after_fen BIGINT NOT NULL,
    credit_balance_after_fen BIGINT NOT NULL,
    created_at              BIGINT NOT NULL,
    CHECK (debit_account_id <> credit_account_id)
);
CREATE INDEX transfers_debit ON transfers (debit_account_id, id);
CREATE INDEX transfers_credit ON transfers (credit_account_id, id);
CREATE INDEX transfers_operation ON transfers (operation_id);

CREATE TABLE holds (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES accounts (id),
    card_id         BIGINT NOT NULL REFERENCES cards (id),
    station_id      BIGINT REFERENCES stations (id),
    amount_fen      BIGINT NOT NULL CHECK (amount_fen > 0),
    captured_fen    BIGINT,
    status          TEXT NOT NULL CHECK (status IN ('active', 'captured', 'voided', 'expired')),
    reference       TEXT,
    expires_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    resolved_at     BIGINT
);
CREATE INDEX holds_active ON holds (account_id, status, expires_at);

CREATE TABLE idempotency_keys (
    key             TEXT PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    request_hash    TEXT NOT NULL,
    status_code     BIGINT,
    response        TEXT,
    created_at      BIGINT NOT NULL
);

CREATE TABLE shifts (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    station_id            BIGINT NOT NULL REFERENCES stations (id),
    cashier_id            BIGINT NOT NULL REFERENCES users (id),
    opened_at             BIGINT NOT NULL,
    closed_at             BIGINT,
    expected_cash_fen     BIGINT,
    expected_bank_card_fen BIGINT,
    expected_transfer_fen BIGINT,
    counted_cash_fen      BIGINT,
    counted_bank_card_fen BIGINT,
    counted_transfer_fen  BIGINT,
    difference_fen        BIGINT
);
CREATE UNIQUE INDEX shifts_one_open ON shifts (cashier_id, station_id) WHERE closed_at IS NULL;

CREATE TABLE promotions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('recharge_bonus')),
    tiers           TEXT NOT NULL,
    card_kinds      TEXT,
    gifts           TEXT NOT NULL DEFAULT '[]',
    starts_at       BIGINT,
    ends_at         BIGINT,
    budget_fen      BIGINT,
    spent_fen       BIGINT NOT NULL DEFAULT 0,
    campaign_code   TEXT,
    account_id      BIGINT NOT NULL REFERENCES accounts (id),
    created_at      BIGINT NOT NULL,
    CHECK (budget_fen IS NULL OR spent_fen <= budget_fen)
);

CREATE TABLE recharges (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_id    BIGINT NOT NULL REFERENCES operations (id),
    card_id         BIGINT NOT NULL REFERENCES cards (id),
    station_id      BIGINT NOT NULL REFERENCES stations (id),
    shift_id        BIGINT NOT NULL REFERENCES shifts (id),
    amount_fen      BIGINT NOT NULL CHECK (amount_fen > 0),
    bonus_fen       BIGINT NOT NULL CHECK (bonus_fen >= 0),
    payment_method  TEXT NOT NULL CHECK (payment_method IN ('cash', 'bank_card', 'transfer')),
    promotion_id    BIGINT REFERENCES promotions (id),
    campaign_code   TEXT,
    gifts           TEXT NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL
);
CREATE INDEX recharges_shift ON recharges (shift_id);
CREATE INDEX recharges_station_time ON recharges (station_id, created_at);

-- Cash paid out over the counter: the refund of a closed card's principal.
CREATE TABLE refunds (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_id    BIGINT NOT NULL REFERENCES operations (id),
    card_id         BIGINT NOT NULL REFERENCES cards (id),
    station_id      BIGINT NOT NULL REFERENCES stations (id),
    shift_id        BIGINT NOT NULL REFERENCES shifts (id),
    amount_fen      BIGINT NOT NULL CHECK (amount_fen >= 0),
    clawback_fen    BIGINT NOT NULL CHECK (clawback_fen >= 0),
    created_at      BIGINT NOT NULL
);
CREATE INDEX refunds_shift ON refunds (shift_id);

CREATE TABLE sales (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_id    BIGINT NOT NULL REFERENCES operations (id),
    card_id         BIGINT NOT NULL REFERENCES cards (id),
    product_id      BIGINT NOT NULL REFERENCES products (id),
    station_id      BIGINT NOT NULL REFERENCES stations (id),
    shift_id        BIGINT NOT NULL REFERENCES shifts (id),
    litres_cl       BIGINT NOT NULL CHECK (litres_cl > 0),
    unit_price_fen  BIGINT NOT NULL,
    amount_fen      BIGINT NOT NULL,
    discount_fen    BIGINT NOT NULL CHECK (discount_fen >= 0),
    charged_fen     BIGINT NOT NULL CHECK (charged_fen > 0),
    bonus_used_fen  BIGINT NOT NULL,
    plate           TEXT,
    odometer_km     BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX sales_card ON sales (card_id, created_at);
CREATE INDEX sales_station_time ON sales (station_id, created_at);
CREATE INDEX sales_shift ON sales (shift_id);
