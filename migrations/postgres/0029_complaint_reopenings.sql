-- A follow-up where the customer is not satisfied reopens the complaint:
-- back to assigned, to be answered and followed up again. The complaint
-- counts its reopenings (the month's report shows them); what was
-- answered and said at each follow-up is kept in the audit log.
ALTER TABLE complaints ADD COLUMN reopened BIGINT NOT NULL DEFAULT 0
    CHECK (reopened >= 0);
