-- The customer care log (客户联系记录): every call and visit a station makes
-- to one of its customers — its purpose, what came of it and the next step
-- agreed — shown on the customer's timeline. The call-back list's calls to
-- dormant customers (`callback_calls`) stay where they are: they are the
-- dormant customers' part of the log, read beside it.
CREATE TABLE care_contacts (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    station_id   INTEGER NOT NULL REFERENCES stations (id),
    user_id      INTEGER REFERENCES users (id),
    kind         TEXT NOT NULL CHECK (kind IN ('call', 'visit')),
    purpose      TEXT NOT NULL
        CHECK (purpose IN ('thanks', 'key_customer', 'festival', 'birthday', 'win_back',
                           'collection', 'complaint_follow_up')),
    outcome      TEXT NOT NULL
        CHECK (outcome IN ('reached', 'satisfied', 'unhappy', 'will_return', 'moved_away',
                           'declined', 'promised_payment', 'no_answer', 'wrong_number')),
    notes        TEXT,
    next_step    TEXT,
    -- YYYY-MM-DD, the operator's calendar.
    next_step_on TEXT,
    contacted_at INTEGER NOT NULL
) STRICT;
CREATE INDEX care_contacts_customer ON care_contacts (customer_id, contacted_at);
CREATE INDEX care_contacts_station ON care_contacts (station_id, contacted_at);

-- A station's plan of visits to its customers: planned for a day (at least
-- three days ahead for gold and key customers, one for the others), then
-- done by the visit logged for it or cancelled.
CREATE TABLE planned_visits (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    station_id      INTEGER NOT NULL REFERENCES stations (id),
    planned_by      INTEGER REFERENCES users (id),
    -- YYYY-MM-DD, the operator's calendar.
    planned_for     TEXT NOT NULL,
    purpose         TEXT NOT NULL
        CHECK (purpose IN ('thanks', 'key_customer', 'festival', 'birthday', 'win_back',
                           'collection', 'complaint_follow_up')),
    notes           TEXT,
    status          TEXT NOT NULL DEFAULT 'planned'
        CHECK (status IN ('planned', 'done', 'cancelled')),
    created_at      INTEGER NOT NULL,
    done_contact_id INTEGER REFERENCES care_contacts (id),
    cancelled_by    INTEGER REFERENCES users (id),
    cancelled_at    INTEGER,
    CHECK ((status = 'done') = (done_contact_id IS NOT NULL)),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
) STRICT;
CREATE INDEX planned_visits_station ON planned_visits (station_id, planned_for);
CREATE INDEX planned_visits_customer ON planned_visits (customer_id, status);
