//! `GET /api/auth/accounts/<p>/token`: a valid provider access token, refreshed
//! first when it expires within a minute. The refresh is single-flight across
//! requests and server instances: the account row is locked for it
//! (PostgreSQL `SELECT … FOR UPDATE`, SQLite `BEGIN IMMEDIATE`), a second
//! caller waits on the lock and then finds the new token, and a rotated
//! refresh token is saved in the same transaction as the new access token.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::OAuth;
use super::accounts::{TokenUpdate, aad};
use super::flow::FlowError;
use crate::db::DbConn;
use crate::db::schema::accounts as ac;

/// A token fresh for at least this long is answered as it is.
const MARGIN_SECS: i64 = 60;

/// `Debug` hides the token itself.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: String,
    pub expires_at: Option<NaiveDateTime>,
    pub scope: String,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("access_token", &"***")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

#[derive(Debug)]
pub enum TokenError {
    /// The user has no account of this provider.
    NotLinked,
    /// The provider refused the refresh (or there is no refresh token): the
    /// user must sign in with the provider again.
    RefreshFailed,
    /// The provider could not be reached or answered junk; try again later.
    Provider(String),
    /// The database failed (`Unavailable` for an outage).
    App(crate::error::AppError),
}

impl From<diesel::result::Error> for TokenError {
    fn from(e: diesel::result::Error) -> Self {
        TokenError::App(e.into())
    }
}

impl From<crate::error::AppError> for TokenError {
    fn from(e: crate::error::AppError) -> Self {
        TokenError::App(e)
    }
}

type Row = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    String,
    String,
    bool,
);

fn load(conn: &mut DbConn, user_id: i64, provider: &str) -> QueryResult<Option<Row>> {
    ac::table
        .filter(ac::user_id.eq(user_id))
        .filter(ac::provider.eq(provider))
        .select((
            ac::id,
            ac::provider_account_id,
            ac::access_token,
            ac::refresh_token,
            ac::expires_at,
            ac::scope,
            ac::token_type,
            ac::needs_reauth,
        ))
        .first(conn)
        .optional()
}

enum Found {
    Fresh(AccessToken),
    Stale {
        id: i64,
        account: String,
        refresh: Option<String>,
    },
}

fn examine(oauth: &OAuth, provider: &str, row: Row) -> Result<(Found, Vec<Reseal>), TokenError> {
    let (id, account, access, refresh, expires_at, scope, token_type, needs_reauth) = row;
    if needs_reauth {
        return Err(TokenError::RefreshFailed);
    }
    let mut reseals = Vec::new();
    let mut open = |column: Column, sealed: Option<String>| {
        let aad = aad(provider, &account, column.name());
        let opened = oauth.cipher.open_checked(sealed.as_deref()?, &aad)?;
        if opened.stale {
            reseals.push(Reseal {
                id,
                column,
                old: sealed?,
                new: oauth.cipher.seal(&opened.plain, &aad),
            });
        }
        Some(opened.plain)
    };
    let access = open(Column::Access, access);
    let soon = Utc::now().naive_utc() + chrono::Duration::seconds(MARGIN_SECS);
    let found = match access {
        Some(access_token) if expires_at.is_none_or(|e| e > soon) => Found::Fresh(AccessToken {
            access_token,
            token_type,
            expires_at,
            scope,
        }),
        // The refresh token is opened only when it is about to be used.
        _ => Found::Stale {
            id,
            refresh: open(Column::Refresh, refresh),
            account,
        },
    };
    Ok((found, reseals))
}

#[derive(Clone, Copy)]
enum Column {
    Access,
    Refresh,
}

impl Column {
    fn name(self) -> &'static str {
        match self {
            Column::Access => "access",
            Column::Refresh => "refresh",
        }
    }
}

/// A token sealed under an earlier secret, sealed again under the current one.
struct Reseal {
    id: i64,
    column: Column,
    old: String,
    new: String,
}

/// Writes the tokens sealed again, each only if its column still holds what
/// was read (a refresh meanwhile wrote newer ones). A failure is only logged:
/// the token opened, and the next use tries again.
fn write_back(conn: &mut DbConn, reseals: Vec<Reseal>) {
    for r in reseals {
        let row = ac::table.find(r.id);
        let written = match r.column {
            Column::Access => diesel::update(row.filter(ac::access_token.eq(&r.old)))
                .set(ac::access_token.eq(Some(&r.new)))
                .execute(conn),
            Column::Refresh => diesel::update(row.filter(ac::refresh_token.eq(&r.old)))
                .set(ac::refresh_token.eq(Some(&r.new)))
                .execute(conn),
        };
        if let Err(e) = written {
            log::warn!("could not seal a provider token again under the current secret: {e}");
        }
    }
}

/// Runs `f` with the account row locked against other refreshers.
fn locked<T>(
    conn: &mut DbConn,
    account_row: i64,
    f: impl FnOnce(&mut DbConn) -> Result<T, TokenError>,
) -> Result<T, TokenError> {
    // SQLite: `write_transaction` begins with BEGIN IMMEDIATE, which takes the
    // write lock now (waiting up to the busy timeout); PostgreSQL locks the rows.
    conn.write_transaction(|conn| {
        if let DbConn::Postgres(_) = conn {
            diesel::sql_query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::BigInt, _>(account_row)
                .execute(conn)?;
        }
        f(conn)
    })
}

/// A valid access token for the user's `provider` account. Blocks (database
/// and provider): run it on a blocking thread.
pub fn valid_token(
    oauth: &OAuth,
    db: &crate::db::Db,
    user_id: i64,
    provider: &str,
) -> Result<AccessToken, TokenError> {
    let config = oauth.provider(provider).ok_or(TokenError::NotLinked)?;
    let mut conn = db.get()?;
    let row = load(&mut conn, user_id, provider)?.ok_or(TokenError::NotLinked)?;
    let id = match examine(oauth, provider, row)? {
        (Found::Fresh(t), reseals) => {
            write_back(&mut conn, reseals);
            return Ok(t);
        }
        (Found::Stale { id, .. }, _) => id,
    };
    locked(&mut conn, id, |conn| {
        // Read again under the lock: another request may have refreshed.
        let row = load(conn, user_id, provider)?.ok_or(TokenError::NotLinked)?;
        let (found, reseals) = examine(oauth, provider, row)?;
        // Under the lock, before a refresh replaces what it holds.
        write_back(conn, reseals);
        let (account, refresh) = match found {
            Found::Fresh(t) => return Ok(Ok(t)),
            Found::Stale {
                account, refresh, ..
            } => (account, refresh),
        };
        let outcome = match refresh {
            None => Err(FlowError::Refused("no refresh token".into())),
            Some(r) => oauth.refresh(config, &r),
        };
        let now = Utc::now().naive_utc();
        match outcome {
            Ok(t) => {
                // A rotated refresh token is saved with the access token.
                TokenUpdate::sealed(&oauth.cipher, provider, &account, &t).apply(conn, id)?;
                Ok(Ok(AccessToken {
                    access_token: t.access,
                    token_type: t.token_type,
                    expires_at: t.expires_at,
                    scope: t.scope,
                }))
            }
            Err(FlowError::Refused(_)) => {
                // Committed: later calls answer refresh_failed without asking
                // the provider again, until the user signs in with it.
                diesel::update(ac::table.find(id))
                    .set((ac::needs_reauth.eq(true), ac::updated_at.eq(now)))
                    .execute(conn)?;
                Ok(Err(TokenError::RefreshFailed))
            }
            Err(e) => Err(TokenError::Provider(e.detail().to_string())),
        }
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_access_token() {
        let t = AccessToken {
            access_token: "gho_the-secret-access-token".into(),
            token_type: "bearer".into(),
            expires_at: None,
            scope: "read:user".into(),
        };
        let shown = format!("{t:?}");
        assert!(!shown.contains("the-secret-access-token"), "{shown}");
        assert!(shown.contains("bearer") && shown.contains("read:user"));
    }
}
