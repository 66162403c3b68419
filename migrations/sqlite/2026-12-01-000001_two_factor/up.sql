-- When the user turned on a second factor (TOTP); NULL while it is off. On the
-- user row, so the one session join knows it.
ALTER TABLE users ADD COLUMN two_factor_at TIMESTAMP;

-- Assurance level of a session: 1 = one factor (password, provider, mailed
-- link), 2 = two factors or a passkey. authenticated_at (already there) is
-- when it was last signed in or re-confirmed at /reauth.
ALTER TABLE sessions ADD COLUMN aal INTEGER NOT NULL DEFAULT 1;

-- The user's TOTP secret, sealed (XChaCha20-Poly1305 under a key derived from
-- the server secret, associated data naming the user): a copy of the database
-- alone yields no secret. last_used_step is the last 30 s step accepted, so a
-- code cannot be used twice. A row while users.two_factor_at is NULL is a
-- setup that has not been confirmed with a code yet.
CREATE TABLE totp_secrets (
    user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    last_used_step INTEGER,
    created_at TIMESTAMP NOT NULL
);

-- Recovery codes: HMAC-SHA256 of the code under a server key, never the code.
CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, code_hash)
);

-- A sign-in waiting for its second factor: the first factor was right, no
-- session exists yet. token_hash is SHA-256 of the token in this browser's
-- cookie; the row lives 5 minutes.
CREATE TABLE pending_signins (
    token_hash BLOB PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    details TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX pending_signins_user_id ON pending_signins (user_id);
CREATE INDEX pending_signins_expires_at ON pending_signins (expires_at);
