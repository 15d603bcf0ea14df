-- A check value of each secret the database's records were made under (an
-- HMAC of a fixed label, which reveals nothing of the key): a server started
-- with another key refuses to start instead of refusing every PIN.
CREATE TABLE key_checks (
    name        TEXT PRIMARY KEY,
    check_value TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
