-- Set on a session an admin opened to act as this user (support); the admin's id.
ALTER TABLE sessions ADD COLUMN impersonator_id BIGINT REFERENCES users (id) ON DELETE CASCADE;
