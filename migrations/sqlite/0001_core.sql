-- Station core: stations, users, products and prices, customers, cards,
-- the ledger (accounts, operations, transfers, holds), idempotency, shifts,
-- promotions, recharges, sales and the audit log.
--
-- Conventions (kept identical in migrations/postgres):
--   * money is integer fen (`*_fen`), volume integer centilitres (`*_cl`);
--   * every `*_at` column is microseconds since the Unix epoch, UTC;
--   * booleans are 0/1 integers so one query text serves both backends.

CREATE TABLE stations (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    district    TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE customers (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('person', 'company')),
    name         TEXT NOT NULL,
    phone        TEXT,
    id_number    TEXT,
    contact_name TEXT,
    address      TEXT,
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX customers_phone ON customers (phone);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'hq', 'district_manager',
                      'station_manager', 'cashier', 'fleet_manager', 'merchant')),
    station_id    INTEGER REFERENCES stations (id),
    company_id    INTEGER REFERENCES customers (id),
    merchant      TEXT,
    district      TEXT,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER REFERENCES users (id),
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

-- Prices are never edited: a new row with a later `effective_from` replaces
-- the old price from that moment, so a sale is always priced as of its time.
CREATE TABLE product_prices (
    id                          INTEGER PRIMARY KEY,
    product_id                  INTEGER NOT NULL REFERENCES products (id),
    unit_price_fen              INTEGER NOT NULL CHECK (unit_price_fen > 0),
    card_discount_fen_per_litre INTEGER NOT NULL CHECK (card_discount_fen_per_litre >= 0
                                    AND card_discount_fen_per_litre < unit_price_fen),
    effective_from              INTEGER NOT NULL,
    created_by                  INTEGER REFERENCES users (id),
    created_at                  INTEGER NOT NULL
) STRICT;
CREATE INDEX product_prices_in_force ON product_prices (product_id, effective_from);

-- A ledger account. `floor_fen` NULL marks a system account (cash clearing,
-- sales, promotion expense) that may go negative; a card account has floor 0
-- and the CHECK is the last line of defence behind the conditional UPDATEs.
-- `bonus_fen` is the part of the balance that is promotion money.
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('card', 'cash', 'bank_card', 'bank_transfer',
                    'sales', 'promotion', 'clawback')),
    name        TEXT NOT NULL UNIQUE,
    balance_fen INTEGER NOT NULL DEFAULT 0,
    bonus_fen   INTEGER NOT NULL DEFAULT 0,
    held_fen    INTEGER NOT NULL DEFAULT 0 CHECK (held_fen >= 0),
    floor_fen   INTEGER,
    created_at  INTEGER NOT NULL,
    CHECK (floor_fen IS NULL OR (balance_fen - held_fen >= floor_fen
           AND bonus_fen >= 0 AND (bonus_fen = 0 OR bonus_fen <= balance_fen)))
) STRICT;

CREATE TABLE cards (
    id                  INTEGER PRIMARY KEY,
    number              TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL CHECK (kind IN ('personal', 'company_main', 'company_sub',
                            'fleet', 'anonymous')),
    status              TEXT NOT NULL CHECK (status IN ('active', 'locked', 'lost', 'replaced',
                            'closed')),
    customer_id         INTEGER REFERENCES customers (id),
    parent_card_id      INTEGER REFERENCES cards (id),
    account_id          INTEGER NOT NULL UNIQUE REFERENCES accounts (id),
    plate               TEXT,
    pin_salt            TEXT,
    pin_verifier        TEXT,
    pin_failures        INTEGER NOT NULL DEFAULT 0,
    issued_station_id   INTEGER REFERENCES stations (id),
    lost_at             INTEGER,
    replaced_by_card_id INTEGER REFERENCES cards (id),
    created_at          INTEGER NOT NULL,
    closed_at           INTEGER
) STRICT;
CREATE INDEX cards_customer ON cards (customer_id);
CREATE INDEX cards_parent ON cards (parent_card_id);

-- One business event (a recharge, a sale, a transfer between cards …). Its
-- money movements are the transfers that name it.
CREATE TABLE operations (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    card_id         INTEGER REFERENCES cards (id),
    station_id      INTEGER REFERENCES stations (id),
    shift_id        INTEGER,
    user_id         INTEGER REFERENCES users (id),
    detail          TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX operations_card ON operations (card_id, id);

-- Immutable double-entry transfers: never updated, never deleted.
CREATE TABLE transfers (
    id                      INTEGER PRIMARY KEY,
    operation_id            INTEGER NOT NULL REFERENCES operations (id),
    debit_account_id        INTEGER NOT NULL REFERENCES accounts (id),
    credit_account_id       INTEGER NOT NULL REFERENCES accounts (id),
    amount_fen              INTEGER NOT NULL CHECK (amount_fen > 0),
    bonus_fen               INTEGER NOT NULL CHECK (bonus_fen >= 0 AND bonus_fen <= amount_fen),
    debit_balance_after_fen INTEGER NOT NULL,
    credit_balance_after_fen INTEGER NOT NULL,
    created_at              INTEGER NOT NULL,
    CHECK (debit_account_id <> credit_account_id)
) STRICT;
CREATE INDEX transfers_debit ON transfers (debit_account_id, id);
CREATE INDEX transfers_credit ON transfers (credit_account_id, id);
CREATE INDEX transfers_operation ON transfers (operation_id);

CREATE TABLE holds (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    card_id         INTEGER NOT NULL REFERENCES cards (id),
    station_id      INTEGER REFERENCES stations (id),
    amount_fen      INTEGER NOT NULL CHECK (amount_fen > 0),
    captured_fen    INTEGER,
    status          TEXT NOT NULL CHECK (status IN ('active', 'captured', 'voided', 'expired')),
    reference       TEXT,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    resolved_at     INTEGER
) STRICT;
CREATE INDEX holds_active ON holds (account_id, status, expires_at);

CREATE TABLE idempotency_keys (
    key             TEXT PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    request_hash    TEXT NOT NULL,
    status_code     INTEGER,
    response        TEXT,
    created_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE shifts (
    id                    INTEGER PRIMARY KEY,
    station_id            INTEGER NOT NULL REFERENCES stations (id),
    cashier_id            INTEGER NOT NULL REFERENCES users (id),
    opened_at             INTEGER NOT NULL,
    closed_at             INTEGER,
    expected_cash_fen     INTEGER,
    expected_bank_card_fen INTEGER,
    expected_transfer_fen INTEGER,
    counted_cash_fen      INTEGER,
    counted_bank_card_fen INTEGER,
    counted_transfer_fen  INTEGER,
    difference_fen        INTEGER
) STRICT;
CREATE UNIQUE INDEX shifts_one_open ON shifts (cashier_id, station_id) WHERE closed_at IS NULL;

CREATE TABLE promotions (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('recharge_bonus')),
    tiers           TEXT NOT NULL,
    card_kinds      TEXT,
    gifts           TEXT NOT NULL DEFAULT '[]',
    starts_at       INTEGER,
    ends_at         INTEGER,
    budget_fen      INTEGER,
    spent_fen       INTEGER NOT NULL DEFAULT 0,
    campaign_code   TEXT,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    created_at      INTEGER NOT NULL,
    CHECK (budget_fen IS NULL OR spent_fen <= budget_fen)
) STRICT;

CREATE TABLE recharges (
    id              INTEGER PRIMARY KEY,
    operation_id    INTEGER NOT NULL REFERENCES operations (id),
    card_id         INTEGER NOT NULL REFERENCES cards (id),
    station_id      INTEGER NOT NULL REFERENCES stations (id),
    shift_id        INTEGER NOT NULL REFERENCES shifts (id),
    amount_fen      INTEGER NOT NULL CHECK (amount_fen > 0),
    bonus_fen       INTEGER NOT NULL CHECK (bonus_fen >= 0),
    payment_method  TEXT NOT NULL CHECK (payment_method IN ('cash', 'bank_card', 'transfer')),
    promotion_id    INTEGER REFERENCES promotions (id),
    campaign_code   TEXT,
    gifts           TEXT NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX recharges_shift ON recharges (shift_id);
CREATE INDEX recharges_station_time ON recharges (station_id, created_at);

-- Cash paid out over the counter: the refund of a closed card's principal.
CREATE TABLE refunds (
    id              INTEGER PRIMARY KEY,
    operation_id    INTEGER NOT NULL REFERENCES operations (id),
    card_id         INTEGER NOT NULL REFERENCES cards (id),
    station_id      INTEGER NOT NULL REFERENCES stations (id),
    shift_id        INTEGER NOT NULL REFERENCES shifts (id),
    amount_fen      INTEGER NOT NULL CHECK (amount_fen >= 0),
    clawback_fen    INTEGER NOT NULL CHECK (clawback_fen >= 0),
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX refunds_shift ON refunds (shift_id);

CREATE TABLE sales (
    id              INTEGER PRIMARY KEY,
    operation_id    INTEGER NOT NULL REFERENCES operations (id),
    card_id         INTEGER NOT NULL REFERENCES cards (id),
    product_id      INTEGER NOT NULL REFERENCES products (id),
    station_id      INTEGER NOT NULL REFERENCES stations (id),
    shift_id        INTEGER NOT NULL REFERENCES shifts (id),
    litres_cl       INTEGER NOT NULL CHECK (litres_cl > 0),
    unit_price_fen  INTEGER NOT NULL,
    amount_fen      INTEGER NOT NULL,
    discount_fen    INTEGER NOT NULL CHECK (discount_fen >= 0),
    charged_fen     INTEGER NOT NULL CHECK (charged_fen > 0),
    bonus_used_fen  INTEGER NOT NULL,
    plate           TEXT,
    odometer_km     INTEGER,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX sales_card ON sales (card_id, created_at);
CREATE INDEX sales_station_time ON sales (station_id, created_at);
CREATE INDEX sales_shift ON sales (shift_id);
