-- The alliance's money: what the offers' deliveries were worth, held to
-- the money budget, and benefits that die with the money that earned them.

-- The sum of an offer's redemptions' values, not reversed. A redemption
-- takes its value here by a conditional update, as a grant takes its unit
-- cost from `granted_fen`; the CHECK holds the budget even so.
ALTER TABLE offers ADD COLUMN redeemed_fen BIGINT NOT NULL DEFAULT 0
    CHECK (redeemed_fen >= 0 AND (budget_fen IS NULL OR redeemed_fen <= budget_fen));

-- A benefit can now be void: its card was closed before it was delivered.
ALTER TABLE benefits DROP CONSTRAINT benefits_status_check;
ALTER TABLE benefits ADD CONSTRAINT benefits_status_check
    CHECK (status IN ('granted', 'redeemed', 'void'));
ALTER TABLE benefits ADD COLUMN void_reason TEXT;
ALTER TABLE benefits ADD COLUMN voided_at BIGINT;
ALTER TABLE benefits ADD CONSTRAINT benefits_void_check
    CHECK ((status = 'void') = (voided_at IS NOT NULL));
