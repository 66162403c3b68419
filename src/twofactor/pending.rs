//! A sign-in waiting for its second factor. The first factor (a password, a
//! provider, a mailed link) was right; no session exists yet. The row is
//! keyed by the SHA-256 of a random token that only this browser's cookie
//! holds, and lives five minutes. Completing it spends it (`DELETE …
//! RETURNING`), in the transaction that creates the session.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{pending_signins, users};
use crate::session::{PlainToken, TokenHash};

/// How long the second factor may take.
pub const LIFETIME: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// What a pending sign-in carries to the session it becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub user_id: i64,
    /// `details.method` of the sign-in event (`password`, a provider id,
    /// `email`).
    pub method: String,
    /// The first factor's event details.
    pub details: serde_json::Value,
    pub callback_url: String,
}

/// Stores a pending sign-in; the token is returned for the cookie and never
/// stored. Expired rows of the user go at the same time.
pub fn create(conn: &mut DbConn, pending: &Pending) -> QueryResult<PlainToken> {
    let token = PlainToken::generate();
    let now = Utc::now().naive_utc();
    let lifetime = chrono::Duration::from_std(LIFETIME).expect("five minutes");
    diesel::delete(
        pending_signins::table
            .filter(pending_signins::user_id.eq(pending.user_id))
            .filter(pending_signins::expires_at.le(now)),
    )
    .execute(conn)?;
    diesel::insert_into(pending_signins::table)
        .values((
            pending_signins::token_hash.eq(token.hash().as_bytes()),
            pending_signins::user_id.eq(pending.user_id),
            pending_signins::method.eq(&pending.method),
            pending_signins::details.eq(pending.details.to_string()),
            pending_signins::callback_url.eq(&pending.callback_url),
            pending_signins::created_at.eq(now),
            pending_signins::expires_at.eq(now + lifetime),
        ))
        .execute(conn)?;
    Ok(token)
}

type Row = (i64, String, String, String, NaiveDateTime);

fn from_row((user_id, method, details, callback_url, _): Row) -> Pending {
    Pending {
        user_id,
        method,
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
        callback_url,
    }
}

/// The live pending sign-in of this token and its user's email, without
/// spending it.
pub fn peek(conn: &mut DbConn, hash: &TokenHash) -> QueryResult<Option<(Pending, String)>> {
    let now = Utc::now().naive_utc();
    pending_signins::table
        .inner_join(users::table)
        .filter(pending_signins::token_hash.eq(hash.as_bytes()))
        .filter(pending_signins::expires_at.gt(now))
        .select((
            (
                pending_signins::user_id,
                pending_signins::method,
                pending_signins::details,
                pending_signins::callback_url,
                pending_signins::expires_at,
            ),
            users::email,
        ))
        .first::<(Row, String)>(conn)
        .optional()
        .map(|found| found.map(|(row, email)| (from_row(row), email)))
}

/// Spends the pending sign-in of this token: deleted in one statement, so it
/// completes once. `None` when there is none or it expired.
pub fn spend(conn: &mut DbConn, hash: &TokenHash) -> QueryResult<Option<Pending>> {
    #[derive(QueryableByName)]
    struct Spent {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        user_id: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        method: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        details: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        callback_url: String,
        #[diesel(sql_type = diesel::sql_types::Timestamp)]
        expires_at: NaiveDateTime,
    }
    let spent = diesel::sql_query(
        "DELETE FROM pending_signins WHERE token_hash = $1 \
         RETURNING user_id, method, details, callback_url, expires_at",
    )
    .bind::<diesel::sql_types::Binary, _>(hash.as_bytes())
    .get_result::<Spent>(conn)
    .optional()?;
    let now = Utc::now().naive_utc();
    Ok(spent
        .filter(|s| s.expires_at > now)
        .map(|s| from_row((s.user_id, s.method, s.details, s.callback_url, s.expires_at))))
}
