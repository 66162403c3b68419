-- When the user proved they read mail at their address (a verification link,
-- a password reset); NULL until then.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;

-- One-time tokens sent by mail. token_hash is SHA-256 of the token in the
-- link; the token itself is never stored. `email` is the address the link
-- went to (for an email change: the new address).
CREATE TABLE email_tokens (
    token_hash BYTEA PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX email_tokens_user_id ON email_tokens (user_id);
CREATE INDEX email_tokens_expires_at ON email_tokens (expires_at);
