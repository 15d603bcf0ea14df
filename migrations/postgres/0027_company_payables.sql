-- A company's payable: what the network owes a company whose account (its
-- main card) head office or its fleet manager closed. A company's card
-- money goes back to the company by bank transfer, never as cash at a
-- counter, so a main card's closure books its balance here. One account per
-- company (`payable:company:<id>`), with floor 0: the CHECK holds it never
-- below zero (the network never pays out more than it owes) and it carries
-- no bonus (promotion money is clawed back, not owed).
ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check CHECK (kind IN ('card', 'cash',
    'bank_card', 'bank_transfer', 'sales', 'promotion', 'clawback', 'partner', 'alliance',
    'receivable', 'payable'));
ALTER TABLE accounts ADD CONSTRAINT accounts_payable_check CHECK (kind <> 'payable'
    OR (floor_fen = 0 AND bonus_fen = 0));
