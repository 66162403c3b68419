-- A ban: banned_at set means banned, until banned_until (NULL: no end).
ALTER TABLE users ADD COLUMN banned_at TIMESTAMP;
ALTER TABLE users ADD COLUMN banned_until TIMESTAMP;
ALTER TABLE users ADD COLUMN ban_reason TEXT;

-- A provider account linked to a user. access_token and refresh_token hold
-- XChaCha20-Poly1305 ciphertexts (key from GATEHOUSE_SECRET), never the tokens.
CREATE TABLE accounts (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    provider_account_id TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    scope TEXT NOT NULL DEFAULT '',
    token_type TEXT NOT NULL DEFAULT 'bearer',
    access_token TEXT,
    refresh_token TEXT,
    expires_at TIMESTAMP,
    needs_reauth BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (provider, provider_account_id),
    UNIQUE (user_id, provider)
);

-- An OAuth sign-in in progress: keyed by SHA-256 of `state`, bound to the
-- browser by SHA-256 of a cookie, spent once, gone after expires_at.
CREATE TABLE oauth_states (
    state_hash BYTEA PRIMARY KEY NOT NULL,
    binding_hash BYTEA NOT NULL,
    provider TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    link_user_id BIGINT,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);
