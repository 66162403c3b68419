//! One-time tokens sent by mail (`email_tokens`). The link carries a
//! [`PlainToken`] (256 random bits); the row is keyed by its SHA-256, with its
//! purpose, user, address and expiry. A token is spent by [`spend`], which
//! deletes the row in the same transaction as the effect it pays for: a token
//! of one purpose never works for another, and an expired, spent or unknown
//! one changes nothing.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Text, Timestamp};

use crate::db::DbConn;
use crate::db::schema::email_tokens as et;
use crate::session::PlainToken;

/// What a token may be spent on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    ResetPassword,
    VerifyEmail,
    SignIn,
    ChangeEmail,
}

impl Purpose {
    pub const ALL: [Purpose; 4] = [
        Purpose::ResetPassword,
        Purpose::VerifyEmail,
        Purpose::SignIn,
        Purpose::ChangeEmail,
    ];

    /// The `purpose` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::ResetPassword => "reset_password",
            Purpose::VerifyEmail => "verify_email",
            Purpose::SignIn => "sign_in",
            Purpose::ChangeEmail => "change_email",
        }
    }

    /// How long a link of this purpose works (SPEC).
    pub fn lifetime(self) -> chrono::Duration {
        match self {
            Purpose::ResetPassword => chrono::Duration::hours(1),
            Purpose::VerifyEmail | Purpose::ChangeEmail => chrono::Duration::hours(24),
            Purpose::SignIn => chrono::Duration::minutes(15),
        }
    }
}

/// What a live token stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub user_id: i64,
    /// The address the link was sent to.
    pub email: String,
    pub expires_at: NaiveDateTime,
}

/// A token just issued: the plain value goes into the link, once.
#[derive(Debug)]
pub struct Issued {
    pub token: PlainToken,
    pub expires_at: NaiveDateTime,
}

/// Stores the hash of a fresh token for `user_id`, sent to `email`.
pub fn issue(
    conn: &mut DbConn,
    purpose: Purpose,
    user_id: i64,
    email: &str,
) -> QueryResult<Issued> {
    let token = PlainToken::generate();
    let now = Utc::now().naive_utc();
    let expires_at = now + purpose.lifetime();
    diesel::insert_into(et::table)
        .values((
            et::token_hash.eq(token.hash().as_bytes()),
            et::purpose.eq(purpose.as_str()),
            et::user_id.eq(user_id),
            et::email.eq(email),
            et::created_at.eq(now),
            et::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(Issued { token, expires_at })
}

/// The live token's claim, without spending it (a form that spends it next).
pub fn peek(conn: &mut DbConn, purpose: Purpose, token: &PlainToken) -> QueryResult<Option<Claim>> {
    let now = Utc::now().naive_utc();
    et::table
        .find(token.hash().as_bytes())
        .filter(et::purpose.eq(purpose.as_str()))
        .filter(et::expires_at.gt(now))
        .select((et::user_id, et::email, et::expires_at))
        .first::<(i64, String, NaiveDateTime)>(conn)
        .optional()
        .map(|row| {
            row.map(|(user_id, email, expires_at)| Claim {
                user_id,
                email,
                expires_at,
            })
        })
}

/// Spends a live token of `purpose` on `effect`, in one transaction: the row
/// is deleted and the effect applied, or (the effect failed) neither.
/// `Ok(None)`: no live token of this purpose (unknown, spent, expired, or one
/// of another purpose, which stays as it was). The transaction's first
/// statement is the delete, so it takes the write lock at once (SQLite) or
/// the row's lock (PostgreSQL): of two spends at once, one deletes the row and
/// the other, once it may go on, finds none.
pub fn spend<T, E: From<diesel::result::Error>>(
    conn: &mut DbConn,
    purpose: Purpose,
    token: &PlainToken,
    effect: impl FnOnce(&mut DbConn, &Claim) -> Result<T, E>,
) -> Result<Option<T>, E> {
    conn.write_transaction(|conn| {
        let spent: Option<Spent> = diesel::sql_query(
            "DELETE FROM email_tokens \
             WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 \
             RETURNING user_id, email, expires_at",
        )
        .bind::<Binary, _>(token.hash().as_bytes())
        .bind::<Text, _>(purpose.as_str())
        .bind::<Timestamp, _>(Utc::now().naive_utc())
        .get_result(conn)
        .optional()?;
        let Some(spent) = spent else {
            return Ok(None);
        };
        let claim = Claim {
            user_id: spent.user_id,
            email: spent.email,
            expires_at: spent.expires_at,
        };
        effect(conn, &claim).map(Some)
    })
}

/// The row a spend deleted.
#[derive(QueryableByName)]
struct Spent {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Timestamp)]
    expires_at: NaiveDateTime,
}

/// Deletes every token of `purpose` the user holds (a reset makes the other
/// reset links worthless, a verification the other verification links).
pub fn revoke(conn: &mut DbConn, user_id: i64, purpose: Purpose) -> QueryResult<usize> {
    diesel::delete(
        et::table
            .filter(et::user_id.eq(user_id))
            .filter(et::purpose.eq(purpose.as_str())),
    )
    .execute(conn)
}

/// Deletes the user's links that get into the account without the password
/// (reset and sign-in): a new password makes them worthless, as Django's
/// reset tokens die with a password change. Call it in the transaction that
/// sets the password.
pub fn revoke_account_links(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(
        et::table.filter(et::user_id.eq(user_id)).filter(
            et::purpose.eq_any([Purpose::ResetPassword.as_str(), Purpose::SignIn.as_str()]),
        ),
    )
    .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_have_distinct_names_and_the_specs_lifetimes() {
        let names: std::collections::BTreeSet<_> =
            Purpose::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(names.len(), Purpose::ALL.len());
        assert_eq!(
            Purpose::ResetPassword.lifetime(),
            chrono::Duration::hours(1)
        );
        assert_eq!(Purpose::VerifyEmail.lifetime(), chrono::Duration::hours(24));
        assert_eq!(Purpose::SignIn.lifetime(), chrono::Duration::minutes(15));
    }

    #[test]
    fn an_issued_token_prints_no_secret() {
        let issued = Issued {
            token: PlainToken::generate(),
            expires_at: Utc::now().naive_utc(),
        };
        let shown = format!("{issued:?}");
        assert!(shown.contains("***"), "{shown}");
    }
}
