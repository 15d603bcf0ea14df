-- The card's chip (electronic purse). Value on a chip is a card account of
-- its own (name `chip:<number>`), so loading is a transfer from the card's
-- host account to its chip account and a chip purchase a transfer from the
-- chip account to the station's sales account. Card keys are not stored
-- here: only the public parts of each transaction (counters, randoms,
-- terminal, date/time, TAC) needed to verify and settle it later.

-- A terminal's transaction counter (the PSAM TTC of a pump or counter).
CREATE TABLE chip_terminals (
    terminal    TEXT PRIMARY KEY,
    ttc         BIGINT NOT NULL
);

-- A load (圈存): pending from INITIALIZE FOR LOAD until the card's TAC is
-- verified (loaded) or the card shows the credit never happened (reversed).
CREATE TABLE chip_loads (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_id            BIGINT NOT NULL REFERENCES cards (id),
    hold_id            BIGINT NOT NULL REFERENCES holds (id),
    station_id         BIGINT REFERENCES stations (id),
    user_id            BIGINT REFERENCES users (id),
    idempotency_key    TEXT NOT NULL,
    amount_fen         BIGINT NOT NULL CHECK (amount_fen > 0),
    terminal           TEXT NOT NULL,
    online_ttc         BIGINT NOT NULL,
    balance_before_fen BIGINT NOT NULL,
    key_version        BIGINT NOT NULL,
    card_random        TEXT NOT NULL,
    stamp              TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'loaded', 'reversed')),
    tac                TEXT,
    operation_id       BIGINT REFERENCES operations (id),
    created_at         BIGINT NOT NULL,
    settled_at         BIGINT
);
CREATE UNIQUE INDEX chip_loads_one_pending ON chip_loads (card_id) WHERE status = 'pending';

-- A fill under grey lock (灰锁): the chip's balance is locked at the pump
-- and mirrored by a hold on the chip account; the fill settles once, by
-- DEBIT FOR UNLOCK wherever the card is read next.
CREATE TABLE chip_fills (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_id         BIGINT NOT NULL REFERENCES cards (id),
    hold_id         BIGINT NOT NULL REFERENCES holds (id),
    station_id      BIGINT NOT NULL REFERENCES stations (id),
    user_id         BIGINT REFERENCES users (id),
    product_id      BIGINT NOT NULL REFERENCES products (id),
    terminal        TEXT NOT NULL,
    psam_ttc        BIGINT NOT NULL,
    ctc             BIGINT NOT NULL,
    lock_stamp      TEXT NOT NULL,
    amount_fen      BIGINT CHECK (amount_fen IS NULL OR amount_fen >= 0),
    litres_cl       BIGINT,
    unlock_terminal TEXT,
    unlock_ttc      BIGINT,
    unlock_stamp    TEXT,
    status          TEXT NOT NULL CHECK (status IN ('locked', 'fuelled', 'settled')),
    tac             TEXT,
    settled_station_id BIGINT REFERENCES stations (id),
    operation_id    BIGINT REFERENCES operations (id),
    created_at      BIGINT NOT NULL,
    settled_at      BIGINT,
    UNIQUE (card_id, ctc, terminal, psam_ttc)
);
CREATE INDEX chip_fills_open ON chip_fills (card_id, status);

-- Purchases the chip made offline at a pump, uploaded with their TAC.
-- Posted once (one per card and offline counter); a record whose TAC does
-- not verify is kept as rejected, for the office to look into.
CREATE TABLE chip_purchases (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_id         BIGINT NOT NULL REFERENCES cards (id),
    station_id      BIGINT NOT NULL REFERENCES stations (id),
    terminal        TEXT NOT NULL,
    terminal_ttc    BIGINT NOT NULL,
    offline_ttc     BIGINT NOT NULL,
    amount_fen      BIGINT NOT NULL CHECK (amount_fen > 0),
    txn_type        BIGINT NOT NULL,
    stamp           TEXT NOT NULL,
    tac             TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('posted', 'rejected')),
    reason          TEXT,
    operation_id    BIGINT REFERENCES operations (id),
    uploaded_by     BIGINT REFERENCES users (id),
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX chip_purchases_once ON chip_purchases (card_id, offline_ttc) WHERE status = 'posted';
