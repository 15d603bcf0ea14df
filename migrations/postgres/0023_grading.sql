-- Customer grades: each month the service grades every customer with a
-- card by the three calendar months before (card litres and recharges),
-- so a level change has its month. A run is recorded even when it graded
-- nobody, so a month is graded once.
CREATE TABLE customer_grades (
    customer_id  BIGINT NOT NULL REFERENCES customers (id),
    month        TEXT NOT NULL,
    level        TEXT NOT NULL
        CHECK (level IN ('gold', 'key', 'potential_key', 'ordinary', 'marginal')),
    litres_cl    BIGINT NOT NULL CHECK (litres_cl >= 0),
    recharge_fen BIGINT NOT NULL CHECK (recharge_fen >= 0),
    PRIMARY KEY (customer_id, month)
);

CREATE TABLE grading_runs (
    month     TEXT PRIMARY KEY,
    graded_at BIGINT NOT NULL,
    customers BIGINT NOT NULL
);

-- The call-back list's calls: who called a dormant customer, when, and
-- what came of it.
CREATE TABLE callback_calls (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    station_id  BIGINT NOT NULL REFERENCES stations (id),
    user_id     BIGINT REFERENCES users (id),
    outcome     TEXT NOT NULL
        CHECK (outcome IN ('reached', 'will_return', 'moved_away', 'unhappy', 'no_answer',
                           'wrong_number')),
    notes       TEXT,
    called_at   BIGINT NOT NULL
);
CREATE INDEX callback_calls_customer ON callback_calls (customer_id, called_at);
