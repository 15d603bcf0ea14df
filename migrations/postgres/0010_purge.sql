-- Old sessions and answered idempotency keys are purged on a schedule; these
-- indexes let the purge find them without reading the whole table.
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
