-- A company's payable: what the network owes a company whose account (its
-- main card) head office or its fleet manager closed. A company's card
-- money goes back to the company by bank transfer, never as cash at a
-- counter, so a main card's closure books its balance here. One account per
-- company (`payable:company:<id>`), with floor 0: the CHECK holds it never
-- below zero (the network never pays out more than it owes) and it carries
-- no bonus (promotion money is clawed back, not owed).
--
-- SQLite cannot change a CHECK in place, so the table is rebuilt as
-- 0021_credit.sql did (the migrations run with foreign keys off and are
-- checked after); every row keeps its id.
CREATE TABLE accounts_next (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('card', 'cash', 'bank_card', 'bank_transfer',
                    'sales', 'promotion', 'clawback', 'partner', 'alliance', 'receivable',
                    'payable')),
    name        TEXT NOT NULL UNIQUE,
    balance_fen INTEGER NOT NULL DEFAULT 0,
    bonus_fen   INTEGER NOT NULL DEFAULT 0,
    held_fen    INTEGER NOT NULL DEFAULT 0 CHECK (held_fen >= 0),
    floor_fen   INTEGER,
    created_at  INTEGER NOT NULL,
    CHECK (floor_fen IS NULL OR (balance_fen - held_fen >= floor_fen
           AND bonus_fen >= 0 AND (bonus_fen = 0 OR bonus_fen <= balance_fen))),
    CONSTRAINT accounts_payable_check CHECK (kind <> 'payable'
           OR (floor_fen = 0 AND bonus_fen = 0))
) STRICT;
INSERT INTO accounts_next SELECT * FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_next RENAME TO accounts;
