//! One schema for both backends. Written by hand: the per-backend migrations
//! create the same tables, and `tests/migrations.rs` keeps their folders in step.

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        image -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        role -> Text,
        permissions -> Text,
        plan -> Text,
        plan_expires_at -> Nullable<Timestamp>,
        theme -> Text,
        language -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        banned_at -> Nullable<Timestamp>,
        banned_until -> Nullable<Timestamp>,
        ban_reason -> Nullable<Text>,
        last_seen_at -> Nullable<Timestamp>,
        email_verified_at -> Nullable<Timestamp>,
        two_factor_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Binary,
        user_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_seen_at -> Timestamp,
        authenticated_at -> Timestamp,
        user_agent -> Text,
        ip -> Text,
        impersonator_id -> Nullable<BigInt>,
        aal -> Integer,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    accounts (id) {
        id -> BigInt,
        user_id -> BigInt,
        provider -> Text,
        provider_account_id -> Text,
        email -> Text,
        scope -> Text,
        token_type -> Text,
        access_token -> Nullable<Text>,
        refresh_token -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        needs_reauth -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    oauth_states (state_hash) {
        state_hash -> Binary,
        binding_hash -> Binary,
        provider -> Text,
        pkce_verifier -> Text,
        nonce -> Text,
        callback_url -> Text,
        link_user_id -> Nullable<BigInt>,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        target_id -> Nullable<BigInt>,
        action -> Text,
        ip -> Text,
        user_agent -> Text,
        details -> Text,
    }
}

diesel::table! {
    rate_limits (key) {
        key -> Text,
        window_start -> Timestamp,
        hits -> Integer,
    }
}

diesel::table! {
    email_tokens (token_hash) {
        token_hash -> Binary,
        purpose -> Text,
        user_id -> BigInt,
        email -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    totp_secrets (user_id) {
        user_id -> BigInt,
        secret -> Text,
        last_used_step -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Binary,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    pending_signins (token_hash) {
        token_hash -> Binary,
        user_id -> BigInt,
        method -> Text,
        details -> Text,
        callback_url -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    passkeys (id) {
        id -> BigInt,
        user_id -> BigInt,
        credential_id -> Binary,
        user_handle -> Binary,
        name -> Text,
        passkey -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webauthn_challenges (binding_hash) {
        binding_hash -> Binary,
        purpose -> Text,
        user_id -> Nullable<BigInt>,
        state -> Text,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(passkeys -> users (user_id));
diesel::joinable!(totp_secrets -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(pending_signins -> users (user_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(accounts -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    settings,
    accounts,
    oauth_states,
    audit_events,
    rate_limits,
    email_tokens,
    totp_secrets,
    recovery_codes,
    pending_signins,
    passkeys,
    webauthn_challenges
);
