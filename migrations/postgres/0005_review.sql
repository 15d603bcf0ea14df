-- The monthly vehicle fuel review: a fleet manager's acknowledgement of an
-- anomaly, with the justification. Unacknowledged anomalies carry over.
CREATE TABLE anomaly_acks (
    sale_id       BIGINT NOT NULL REFERENCES sales (id),
    kind          TEXT NOT NULL,
    justification TEXT NOT NULL,
    acked_by      BIGINT NOT NULL REFERENCES users (id),
    acked_at      BIGINT NOT NULL,
    PRIMARY KEY (sale_id, kind)
);
