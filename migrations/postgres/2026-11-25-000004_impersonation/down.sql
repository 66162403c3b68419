ALTER TABLE sessions DROP COLUMN impersonator_id;
