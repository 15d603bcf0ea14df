-- The station that owns each pump terminal: a pump's offline purchases are
-- credited to the sales of the station the pump stands at, whoever uploads
-- them.
ALTER TABLE chip_terminals ADD COLUMN station_id INTEGER REFERENCES stations (id);
