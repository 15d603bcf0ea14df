-- Credit customers (挂账): a company's credit line, its receivable account,
-- the cards that buy on it, its monthly statements and its payments.

-- A new kind of ledger account: a company's receivable, which goes below
-- zero as the company fuels on credit, never below minus its limit (its
-- `floor_fen`, which the CHECK holds).
ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check CHECK (kind IN ('card', 'cash',
    'bank_card', 'bank_transfer', 'sales', 'promotion', 'clawback', 'partner', 'alliance',
    'receivable'));

-- A card that buys on its company's credit line: its own account stays
-- empty, each sale is drawn on the company's receivable.
ALTER TABLE cards ADD COLUMN credit BIGINT NOT NULL DEFAULT 0 CHECK (credit IN (0, 1));

-- A company's credit line, set by head office. The statement now open runs
-- from `open_from` until `closes_at` (the start of its statement day); the
-- first sale, payment or reading after that issues it.
CREATE TABLE credit_lines (
    customer_id   BIGINT PRIMARY KEY REFERENCES customers (id),
    account_id    BIGINT NOT NULL UNIQUE REFERENCES accounts (id),
    limit_fen     BIGINT NOT NULL CHECK (limit_fen >= 0),
    statement_day BIGINT NOT NULL CHECK (statement_day BETWEEN 1 AND 28),
    days_to_pay   BIGINT NOT NULL CHECK (days_to_pay BETWEEN 0 AND 90),
    grace_days    BIGINT NOT NULL CHECK (grace_days BETWEEN 0 AND 90),
    open_month    TEXT NOT NULL,
    open_from     BIGINT NOT NULL,
    closes_at     BIGINT NOT NULL CHECK (closes_at > open_from),
    set_by        BIGINT REFERENCES users (id),
    set_at        BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- An issued monthly statement, frozen: the receivable's transfers with ids
-- in (`after_transfer_id`, `through_transfer_id`], its opening and closing
-- balance (the ledger's, read under the line's lock), and what of its debt
-- (`due_fen`) payments booked since have covered (`paid_fen`). Sales are
-- refused from `overdue_from` while it is unpaid.
CREATE TABLE credit_statements (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id         BIGINT NOT NULL REFERENCES credit_lines (customer_id),
    month               TEXT NOT NULL,
    period_from         BIGINT NOT NULL,
    period_to           BIGINT NOT NULL,
    opening_fen         BIGINT NOT NULL,
    sales_fen           BIGINT NOT NULL CHECK (sales_fen >= 0),
    payments_fen        BIGINT NOT NULL CHECK (payments_fen >= 0),
    closing_fen         BIGINT NOT NULL,
    due_fen             BIGINT NOT NULL CHECK (due_fen >= 0),
    paid_fen            BIGINT NOT NULL DEFAULT 0 CHECK (paid_fen >= 0 AND paid_fen <= due_fen),
    due_on              TEXT NOT NULL,
    overdue_from        BIGINT NOT NULL,
    after_transfer_id   BIGINT NOT NULL,
    through_transfer_id BIGINT NOT NULL CHECK (through_transfer_id >= after_transfer_id),
    issued_at           BIGINT NOT NULL,
    UNIQUE (customer_id, month),
    CHECK (closing_fen = opening_fen - sales_fen + payments_fen)
);
CREATE INDEX credit_statements_unpaid ON credit_statements (overdue_from)
    WHERE paid_fen < due_fen;

-- A payment into a company's receivable, booked by head office.
CREATE TABLE credit_payments (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id  BIGINT NOT NULL REFERENCES credit_lines (customer_id),
    operation_id BIGINT NOT NULL REFERENCES operations (id),
    amount_fen   BIGINT NOT NULL CHECK (amount_fen > 0),
    method       TEXT NOT NULL CHECK (method IN ('cash', 'bank_card', 'transfer')),
    reference    TEXT,
    booked_by    BIGINT REFERENCES users (id),
    created_at   BIGINT NOT NULL
);
CREATE INDEX credit_payments_operation ON credit_payments (operation_id);
