-- Guessing limits shared by every server process and kept across restarts:
-- per key (a username from an address, an address, a user typing PINs …)
-- the guesses counted and the moment the next one is let through.
CREATE TABLE guesses (
    key     TEXT PRIMARY KEY,
    tries   INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL
) STRICT;
CREATE INDEX guesses_last ON guesses (last_at);
