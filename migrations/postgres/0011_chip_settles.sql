-- A fill is written down before GREY LOCK is sent (`locking`): a lock the
-- card took while its answer was lost is then found at the next read and
-- released, and a lock the card never took is voided on the host.
ALTER TABLE chip_fills DROP CONSTRAINT chip_fills_status_check;
ALTER TABLE chip_fills ADD CONSTRAINT chip_fills_status_check
    CHECK (status IN ('locking', 'locked', 'fuelled', 'settled', 'voided'));

-- A pump purchase is posted once per what its TAC signs: the card, the
-- terminal and the terminal's transaction counter. The offline counter a
-- record claims is not signed, so it cannot tell two postings apart.
DROP INDEX chip_purchases_once;
CREATE UNIQUE INDEX chip_purchases_once
    ON chip_purchases (card_id, terminal, terminal_ttc) WHERE status = 'posted';
