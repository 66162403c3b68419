//! WebAuthn ceremonies in progress (`webauthn_challenges`): the state
//! webauthn-rs needs to finish a registration or a sign-in, kept on the
//! server and keyed by SHA-256 of a random token in this browser's cookie.
//! Valid [`LIFETIME_SECS`]; spent once by [`spend`], whose one statement
//! deletes the row, so a replayed answer finds nothing to finish.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Binary, Nullable, Text, Timestamp};

use crate::db::DbConn;
use crate::db::schema::webauthn_challenges as wc;
use crate::session::PlainToken;

/// How long a ceremony may take, from its options to its answer.
pub const LIFETIME_SECS: i64 = 300;

/// What a ceremony is for; a challenge of one never finishes the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Register,
    SignIn,
    /// The signed-in user re-confirms their session (`/reauth`).
    Reauth,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign_in",
            Purpose::Reauth => "reauth",
        }
    }
}

/// Stores a new ceremony for the browser holding `binding`. `user_id`: the
/// signed-in user a registration is for (none for a sign-in).
pub fn save(
    conn: &mut DbConn,
    binding: &PlainToken,
    purpose: Purpose,
    user_id: Option<i64>,
    state: &str,
) -> QueryResult<NaiveDateTime> {
    let expires_at = Utc::now().naive_utc() + chrono::Duration::seconds(LIFETIME_SECS);
    diesel::insert_into(wc::table)
        .values((
            wc::binding_hash.eq(binding.hash().as_bytes()),
            wc::purpose.eq(purpose.as_str()),
            wc::user_id.eq(user_id),
            wc::state.eq(state),
            wc::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(expires_at)
}

/// A ceremony just spent.
#[derive(Debug, QueryableByName)]
pub struct Spent {
    #[diesel(sql_type = Nullable<diesel::sql_types::BigInt>)]
    pub user_id: Option<i64>,
    #[diesel(sql_type = Text)]
    pub state: String,
}

/// Spends the live ceremony of `purpose` bound to `binding`: one statement
/// (`DELETE … RETURNING`) deletes and answers it, so of two answers posted
/// at once only one gets it. `None`: unknown, spent, expired, another
/// purpose, or started in another browser (whose cookie this is not).
pub fn spend(
    conn: &mut DbConn,
    binding: &PlainToken,
    purpose: Purpose,
) -> QueryResult<Option<Spent>> {
    diesel::sql_query(
        "DELETE FROM webauthn_challenges \
         WHERE binding_hash = $1 AND purpose = $2 AND expires_at > $3 \
         RETURNING user_id, state",
    )
    .bind::<Binary, _>(binding.hash().as_bytes())
    .bind::<Text, _>(purpose.as_str())
    .bind::<Timestamp, _>(Utc::now().naive_utc())
    .get_result(conn)
    .optional()
}
