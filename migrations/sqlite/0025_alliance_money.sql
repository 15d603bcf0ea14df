-- The alliance's money: what the offers' deliveries were worth, held to
-- the money budget, and benefits that die with the money that earned them.

-- The sum of an offer's redemptions' values, not reversed. A redemption
-- takes its value here by a conditional update, as a grant takes its unit
-- cost from `granted_fen`; the CHECK holds the budget even so.
ALTER TABLE offers ADD COLUMN redeemed_fen INTEGER NOT NULL DEFAULT 0
    CHECK (redeemed_fen >= 0 AND (budget_fen IS NULL OR redeemed_fen <= budget_fen));

-- A benefit can now be void: its card was closed before it was delivered
-- (`void_reason`, `voided_at`). SQLite cannot change a CHECK in place, so
-- the table is rebuilt (the migrations run with foreign keys off and are
-- checked after); every row keeps its id.
CREATE TABLE benefits_next (
    id            INTEGER PRIMARY KEY,
    offer_id      INTEGER NOT NULL REFERENCES offers (id),
    card_id       INTEGER NOT NULL REFERENCES cards (id),
    customer_id   INTEGER REFERENCES customers (id),
    station_id    INTEGER REFERENCES stations (id),
    event_key     TEXT NOT NULL,
    granted_by    TEXT NOT NULL,
    voucher_code  TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL CHECK (status IN ('granted', 'redeemed', 'void')),
    consent       INTEGER NOT NULL,
    period        TEXT,
    period_used   INTEGER NOT NULL DEFAULT 0 CHECK (period_used >= 0),
    granted_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    void_reason   TEXT,
    voided_at     INTEGER,
    UNIQUE (offer_id, event_key),
    CHECK ((status = 'void') = (voided_at IS NOT NULL))
) STRICT;
INSERT INTO benefits_next (id, offer_id, card_id, customer_id, station_id, event_key, granted_by,
    voucher_code, status, consent, period, period_used, granted_at, expires_at)
    SELECT id, offer_id, card_id, customer_id, station_id, event_key, granted_by, voucher_code,
        status, consent, period, period_used, granted_at, expires_at FROM benefits;
DROP TABLE benefits;
ALTER TABLE benefits_next RENAME TO benefits;
CREATE INDEX benefits_card ON benefits (card_id);
CREATE INDEX benefits_granted_by ON benefits (granted_by);
