-- The card's chip (electronic purse). Value on a chip is a card account of
-- its own (name `chip:<number>`), so loading is a transfer from the card's
-- host account to its chip account and a chip purchase a transfer from the
-- chip account to the station's sales account. Card keys are not stored
-- here: only the public parts of each transaction (counters, randoms,
-- terminal, date/time, TAC) needed to verify and settle it later.

-- A terminal's transaction counter (the PSAM TTC of a pump or counter).
CREATE TABLE chip_terminals (
    terminal    TEXT PRIMARY KEY,
    ttc         INTEGER NOT NULL
) STRICT;

-- A load (圈存): pending from INITIALIZE FOR LOAD until the card's TAC is
-- verified (loaded) or the card shows the credit never happened (reversed).
CREATE TABLE chip_loads (
    id                 INTEGER PRIMARY KEY,
    card_id            INTEGER NOT NULL REFERENCES cards (id),
    hold_id            INTEGER NOT NULL REFERENCES holds (id),
    station_id         INTEGER REFERENCES stations (id),
    user_id            INTEGER REFERENCES users (id),
    idempotency_key    TEXT NOT NULL,
    amount_fen         INTEGER NOT NULL CHECK (amount_fen > 0),
    terminal           TEXT NOT NULL,
    online_ttc         INTEGER NOT NULL,
    balance_before_fen INTEGER NOT NULL,
    key_version        INTEGER NOT NULL,
    card_random        TEXT NOT NULL,
    stamp              TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'loaded', 'reversed')),
    tac                TEXT,
    operation_id       INTEGER REFERENCES operations (id),
    created_at         INTEGER NOT NULL,
    settled_at         INTEGER
) STRICT;
CREATE UNIQUE INDEX chip_loads_one_pending ON chip_loads (card_id) WHERE status = 'pending';

-- A fill under grey lock (灰锁): the chip's balance is locked at the pump
-- and mirrored by a hold on the chip account; the fill settles once, by
-- DEBIT FOR UNLOCK wherever the card is read next.
CREATE TABLE chip_fills (
    id              INTEGER PRIMARY KEY,
    card_id         INTEGER NOT NULL REFERENCES cards (id),
    hold_id         INTEGER NOT NULL REFERENCES holds (id),
    station_id      INTEGER NOT NULL REFERENCES stations (id),
    user_id         INTEGER REFERENCES users (id),
    product_id      INTEGER NOT NULL REFERENCES products (id),
    terminal        TEXT NOT NULL,
    psam_ttc        INTEGER NOT NULL,
    ctc             INTEGER NOT NULL,
    lock_stamp      TEXT NOT NULL,
    amount_fen      INTEGER CHECK (amount_fen IS NULL OR amount_fen >= 0),
    litres_cl       INTEGER,
    unlock_terminal TEXT,
    unlock_ttc      INTEGER,
    unlock_stamp    TEXT,
    status          TEXT NOT NULL CHECK (status IN ('locked', 'fuelled', 'settled')),
    tac             TEXT,
    settled_station_id INTEGER REFERENCES stations (id),
    operation_id    INTEGER REFERENCES operations (id),
    created_at      INTEGER NOT NULL,
    settled_at      INTEGER,
    UNIQUE (card_id, ctc, terminal, psam_ttc)
) STRICT;
CREATE INDEX chip_fills_open ON chip_fills (card_id, status);

-- Purchases the chip made offline at a pump, uploaded with their TAC.
-- Posted once (one per card and offline counter); a record whose TAC does
-- not verify is kept as rejected, for the office to look into.
CREATE TABLE chip_purchases (
    id              INTEGER PRIMARY KEY,
    card_id         INTEGER NOT NULL REFERENCES cards (id),
    station_id      INTEGER NOT NULL REFERENCES stations (id),
    terminal        TEXT NOT NULL,
    terminal_ttc    INTEGER NOT NULL,
    offline_ttc     INTEGER NOT NULL,
    amount_fen      INTEGER NOT NULL CHECK (amount_fen > 0),
    txn_type        INTEGER NOT NULL,
    stamp           TEXT NOT NULL,
    tac             TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('posted', 'rejected')),
    reason          TEXT,
    operation_id    INTEGER REFERENCES operations (id),
    uploaded_by     INTEGER REFERENCES users (id),
    created_at      INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX chip_purchases_once ON chip_purchases (card_id, offline_ttc) WHERE status = 'posted';
