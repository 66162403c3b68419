DROP TABLE rate_limits;
DROP TABLE audit_events;
ALTER TABLE users DROP COLUMN last_seen_at;
