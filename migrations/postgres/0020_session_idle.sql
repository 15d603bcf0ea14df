-- When each session was last used: a session unused for the idle time ends,
-- whatever its absolute end. Sessions open before this read as last used at their login.
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = created_at;
