DROP TABLE pending_signins;
DROP TABLE recovery_codes;
DROP TABLE totp_secrets;
ALTER TABLE sessions DROP COLUMN aal;
ALTER TABLE users DROP COLUMN two_factor_at;
