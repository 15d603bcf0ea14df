-- A fill is written down before GREY LOCK is sent (`locking`): a lock the
-- card took while its answer was lost is then found at the next read and
-- released, and a lock the card never took is voided on the host. SQLite
-- cannot change a CHECK in place, so the table is rebuilt (nothing refers
-- to it).
CREATE TABLE chip_fills_next (
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
    status          TEXT NOT NULL
        CHECK (status IN ('locking', 'locked', 'fuelled', 'settled', 'voided')),
    tac             TEXT,
    settled_station_id INTEGER REFERENCES stations (id),
    operation_id    INTEGER REFERENCES operations (id),
    created_at      INTEGER NOT NULL,
    settled_at      INTEGER,
    UNIQUE (card_id, ctc, terminal, psam_ttc)
) STRICT;
INSERT INTO chip_fills_next SELECT * FROM chip_fills;
DROP TABLE chip_fills;
ALTER TABLE chip_fills_next RENAME TO chip_fills;
CREATE INDEX chip_fills_open ON chip_fills (card_id, status);

-- A pump purchase is posted once per what its TAC signs: the card, the
-- terminal and the terminal's transaction counter. The offline counter a
-- record claims is not signed, so it cannot tell two postings apart.
DROP INDEX chip_purchases_once;
CREATE UNIQUE INDEX chip_purchases_once
    ON chip_purchases (card_id, terminal, terminal_ttc) WHERE status = 'posted';
