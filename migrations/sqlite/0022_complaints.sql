-- Complaints taken to closure: received at a station (about a customer
-- when known), assigned to a member of staff, answered, followed up with
-- the customer, closed. Each stage's time is kept, so its time limit can
-- be checked and a month's complaints counted by category and station.
CREATE TABLE complaints (
    id              INTEGER PRIMARY KEY,
    station_id      INTEGER NOT NULL REFERENCES stations (id),
    customer_id     INTEGER REFERENCES customers (id),
    channel         TEXT NOT NULL
        CHECK (channel IN ('counter', 'phone', 'hotline', 'online', 'letter', 'other')),
    category        TEXT NOT NULL
        CHECK (category IN ('service', 'fuel_quality', 'quantity', 'price', 'card',
                            'invoice', 'facilities', 'other')),
    text            TEXT NOT NULL,
    status          TEXT NOT NULL
        CHECK (status IN ('received', 'assigned', 'answered', 'followed_up', 'closed')),
    received_by     INTEGER REFERENCES users (id),
    received_at     INTEGER NOT NULL,
    assignee_id     INTEGER REFERENCES users (id),
    assigned_at     INTEGER,
    answer          TEXT,
    answered_by     INTEGER REFERENCES users (id),
    answered_at     INTEGER,
    satisfied       INTEGER CHECK (satisfied IS NULL OR satisfied IN (0, 1)),
    follow_up       TEXT,
    followed_up_at  INTEGER,
    closed_at       INTEGER,
    CHECK (status <> 'closed' OR satisfied IS NOT NULL)
) STRICT;
CREATE INDEX complaints_station ON complaints (station_id, received_at);
