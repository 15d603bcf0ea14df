-- The monthly vehicle fuel review: a fleet manager's acknowledgement of an
-- anomaly, with the justification. Unacknowledged anomalies carry over.
CREATE TABLE anomaly_acks (
    sale_id       INTEGER NOT NULL REFERENCES sales (id),
    kind          TEXT NOT NULL,
    justification TEXT NOT NULL,
    acked_by      INTEGER NOT NULL REFERENCES users (id),
    acked_at      INTEGER NOT NULL,
    PRIMARY KEY (sale_id, kind)
) STRICT;
