-- The district's weekly report (片区汽油客户开发进度周反馈表): drafted by
-- the service every Sunday for each district, its figures read live from
-- the ledger until the district manager submits it with their notes; then
-- the figures are kept as submitted and the report is frozen.
CREATE TABLE weekly_reports (
    id            INTEGER PRIMARY KEY,
    district      TEXT NOT NULL REFERENCES districts (code),
    week          TEXT NOT NULL,
    drafted_at    INTEGER NOT NULL,
    figures       TEXT,
    notes         TEXT,
    submitted_at  INTEGER,
    submitted_by  INTEGER REFERENCES users (id),
    UNIQUE (district, week)
) STRICT;
