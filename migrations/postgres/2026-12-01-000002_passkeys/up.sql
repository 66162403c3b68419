-- Passkeys (WebAuthn discoverable credentials). `passkey` is webauthn-rs'
-- Passkey as JSON: the public key, the signature counter and the backup
-- flags, nothing secret (a copy of the database signs nobody in).
-- credential_id is unique across all users: an authenticator's credential
-- belongs to one account. user_handle is the WebAuthn user id the
-- authenticator keeps (random, the same for all of a user's passkeys) and
-- sends back on a discoverable sign-in.
CREATE TABLE passkeys (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BYTEA NOT NULL UNIQUE,
    user_handle BYTEA NOT NULL,
    name TEXT NOT NULL,
    passkey TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- A WebAuthn ceremony in progress (registration or sign-in): the server-side
-- state webauthn-rs needs to finish it, keyed by SHA-256 of a random token in
-- this browser's cookie. Spent once (deleted first), valid 5 minutes.
CREATE TABLE webauthn_challenges (
    binding_hash BYTEA PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at);
