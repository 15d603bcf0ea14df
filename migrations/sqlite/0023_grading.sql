-- Customer grades: each month the service grades every customer with a
-- card by the three calendar months before (card litres and recharges),
-- so a level change has its month. A run is recorded even when it graded
-- nobody, so a month is graded once.
CREATE TABLE customer_grades (
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    month        TEXT NOT NULL,
    level        TEXT NOT NULL
        CHECK (level IN ('gold', 'key', 'potential_key', 'ordinary', 'marginal')),
    litres_cl    INTEGER NOT NULL CHECK (litres_cl >= 0),
    recharge_fen INTEGER NOT NULL CHECK (recharge_fen >= 0),
    PRIMARY KEY (customer_id, month)
) STRICT;

CREATE TABLE grading_runs (
    month     TEXT PRIMARY KEY,
    graded_at INTEGER NOT NULL,
    customers INTEGER NOT NULL
) STRICT;

-- The call-back list's calls: who called a dormant customer, when, and
-- what came of it.
CREATE TABLE callback_calls (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    station_id  INTEGER NOT NULL REFERENCES stations (id),
    user_id     INTEGER REFERENCES users (id),
    outcome     TEXT NOT NULL
        CHECK (outcome IN ('reached', 'will_return', 'moved_away', 'unhappy', 'no_answer',
                           'wrong_number')),
    notes       TEXT,
    called_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX callback_calls_customer ON callback_calls (customer_id, called_at);
