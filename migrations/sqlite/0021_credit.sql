-- Credit customers (挂账): a company's credit line, its receivable account,
-- the cards that buy on it, its monthly statements and its payments.

-- A new kind of ledger account: a company's receivable, which goes below
-- zero as the company fuels on credit, never below minus its limit (its
-- `floor_fen`, which the CHECK holds). SQLite cannot change a CHECK in
-- place, so the table is rebuilt (the migrations run with foreign keys off
-- and are checked after); every row keeps its id.
CREATE TABLE accounts_next (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('card', 'cash', 'bank_card', 'bank_transfer',
                    'sales', 'promotion', 'clawback', 'partner', 'alliance', 'receivable')),
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

-- A card that buys on its company's credit line: its own account stays
-- empty, each sale is drawn on the company's receivable.
ALTER TABLE cards ADD COLUMN credit INTEGER NOT NULL DEFAULT 0 CHECK (credit IN (0, 1));

-- A company's credit line, set by head office. The statement now open runs
-- from `open_from` until `closes_at` (the start of its statement day); the
-- first sale, payment or reading after that issues it.
CREATE TABLE credit_lines (
    customer_id   INTEGER PRIMARY KEY REFERENCES customers (id),
    account_id    INTEGER NOT NULL UNIQUE REFERENCES accounts (id),
    limit_fen     INTEGER NOT NULL CHECK (limit_fen >= 0),
    statement_day INTEGER NOT NULL CHECK (statement_day BETWEEN 1 AND 28),
    days_to_pay   INTEGER NOT NULL CHECK (days_to_pay BETWEEN 0 AND 90),
    grace_days    INTEGER NOT NULL CHECK (grace_days BETWEEN 0 AND 90),
    open_month    TEXT NOT NULL,
    open_from     INTEGER NOT NULL,
    closes_at     INTEGER NOT NULL CHECK (closes_at > open_from),
    set_by        INTEGER REFERENCES users (id),
    set_at        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

-- An issued monthly statement, frozen: the receivable's transfers with ids
-- in (`after_transfer_id`, `through_transfer_id`], its opening and closing
-- balance (the ledger's, read under the line's lock), and what of its debt
-- (`due_fen`) payments booked since have covered (`paid_fen`). Sales are
-- refused from `overdue_from` while it is unpaid.
CREATE TABLE credit_statements (
    id                  INTEGER PRIMARY KEY,
    customer_id         INTEGER NOT NULL REFERENCES credit_lines (customer_id),
    month               TEXT NOT NULL,
    period_from         INTEGER NOT NULL,
    period_to           INTEGER NOT NULL,
    opening_fen         INTEGER NOT NULL,
    sales_fen           INTEGER NOT NULL CHECK (sales_fen >= 0),
    payments_fen        INTEGER NOT NULL CHECK (payments_fen >= 0),
    closing_fen         INTEGER NOT NULL,
    due_fen             INTEGER NOT NULL CHECK (due_fen >= 0),
    paid_fen            INTEGER NOT NULL DEFAULT 0 CHECK (paid_fen >= 0 AND paid_fen <= due_fen),
    due_on              TEXT NOT NULL,
    overdue_from        INTEGER NOT NULL,
    after_transfer_id   INTEGER NOT NULL,
    through_transfer_id INTEGER NOT NULL CHECK (through_transfer_id >= after_transfer_id),
    issued_at           INTEGER NOT NULL,
    UNIQUE (customer_id, month),
    CHECK (closing_fen = opening_fen - sales_fen + payments_fen)
) STRICT;
CREATE INDEX credit_statements_unpaid ON credit_statements (overdue_from)
    WHERE paid_fen < due_fen;

-- A payment into a company's receivable, booked by head office.
CREATE TABLE credit_payments (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES credit_lines (customer_id),
    operation_id INTEGER NOT NULL REFERENCES operations (id),
    amount_fen   INTEGER NOT NULL CHECK (amount_fen > 0),
    method       TEXT NOT NULL CHECK (method IN ('cash', 'bank_card', 'transfer')),
    reference    TEXT,
    booked_by    INTEGER REFERENCES users (id),
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX credit_payments_operation ON credit_payments (operation_id);
