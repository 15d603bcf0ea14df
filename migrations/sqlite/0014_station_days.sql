-- Litres sold on cards per station and local day (the operator's zone),
-- added by every sale as it is written, so a month's, a week's or a
-- quarter's litres per station are read from a few rows per station
-- instead of every sale. Sales already on file are counted by their day in
-- the default zone, Asia/Shanghai (UTC+8, no daylight saving).
CREATE TABLE station_days (
    station_id      INTEGER NOT NULL REFERENCES stations (id),
    day             TEXT NOT NULL,
    card_litres_cl  INTEGER NOT NULL,
    PRIMARY KEY (station_id, day)
) STRICT;
INSERT INTO station_days (station_id, day, card_litres_cl)
    SELECT station_id, date(created_at / 1000000, 'unixepoch', '+8 hours'), SUM(litres_cl)
      FROM sales GROUP BY 1, 2;

-- The month's openings across all stations.
CREATE INDEX card_openings_opened ON card_openings (opened_at);

-- A card's latest sale (a company's, on any of its cards), so the customers
-- still refuelling are counted from one row each.
ALTER TABLE card_openings ADD COLUMN last_sale_at INTEGER;
UPDATE card_openings SET last_sale_at = (
    SELECT MAX(s.created_at) FROM sales s JOIN cards k ON k.id = s.card_id
     WHERE k.id = card_openings.card_id OR k.parent_card_id = card_openings.card_id);
