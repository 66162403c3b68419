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
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, sessions, settings);
