DROP TABLE rate_limits;
DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE audit_events;
ALTER TABLE users DROP COLUMN last_seen_at;
