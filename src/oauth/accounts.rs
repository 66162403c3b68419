//! Linked provider accounts (`accounts`) and what a provider's answer does:
//! sign in a linked user, create a new one, link to the signed-in user, or
//! refuse (never silently attach to someone else's email).

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::crypto::TokenCipher;
use super::flow::{Profile, Tokens};
use crate::db::DbConn;
use crate::db::schema::{accounts as ac, users};

/// What gatehouse says about a provider's answer, when it is not a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sign this user in (or, when linking, the link is made).
    User(i64),
    /// The provider gave no usable email for a new account.
    NoEmail,
    /// The provider gave an email it does not assert as verified: it creates
    /// no user and links to nobody.
    EmailUnverified,
    /// The email belongs to an existing user who has not linked this provider.
    EmailInUse,
    /// Linking: this provider account is already linked to another user.
    LinkedElsewhere,
    /// Linking: the user already has another account of this provider.
    AlreadyLinked,
    /// Linking: the session that started the link is gone or is someone else's.
    LinkSessionChanged,
}

pub fn aad(provider: &str, account_id: &str, column: &str) -> String {
    format!("{provider}:{account_id}:{column}")
}

/// What a token response writes to an account row, sealed. `None` fields are
/// left as they are: a response without a new refresh token keeps the old one.
#[derive(AsChangeset)]
#[diesel(table_name = ac)]
pub struct TokenUpdate {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_at: Option<Option<NaiveDateTime>>,
    scope: String,
    token_type: String,
    needs_reauth: Option<bool>,
    updated_at: NaiveDateTime,
}

impl TokenUpdate {
    pub fn sealed(cipher: &TokenCipher, provider: &str, account_id: &str, t: &Tokens) -> Self {
        TokenUpdate {
            access_token: Some(cipher.seal(&t.access, &aad(provider, account_id, "access"))),
            refresh_token: t
                .refresh
                .as_ref()
                .map(|r| cipher.seal(r, &aad(provider, account_id, "refresh"))),
            expires_at: Some(t.expires_at),
            scope: t.scope.clone(),
            token_type: t.token_type.clone(),
            needs_reauth: Some(false),
            updated_at: Utc::now().naive_utc(),
        }
    }

    /// Writes the update to account row `id`.
    pub fn apply(self, conn: &mut DbConn, id: i64) -> QueryResult<()> {
        diesel::update(ac::table.find(id)).set(self).execute(conn)?;
        Ok(())
    }
}

fn insert(
    conn: &mut DbConn,
    cipher: &TokenCipher,
    user_id: i64,
    provider: &str,
    p: &Profile,
) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    diesel::insert_into(ac::table)
        .values((
            ac::user_id.eq(user_id),
            ac::provider.eq(provider),
            ac::provider_account_id.eq(&p.account_id),
            ac::email.eq(p.email.clone().unwrap_or_default()),
            ac::created_at.eq(now),
            ac::updated_at.eq(now),
        ))
        .execute(conn)?;
    let (id, _) = find(conn, provider, &p.account_id)?.ok_or(diesel::result::Error::NotFound)?;
    TokenUpdate::sealed(cipher, provider, &p.account_id, &p.tokens).apply(conn, id)
}

fn find(conn: &mut DbConn, provider: &str, account_id: &str) -> QueryResult<Option<(i64, i64)>> {
    ac::table
        .filter(ac::provider.eq(provider))
        .filter(ac::provider_account_id.eq(account_id))
        .select((ac::id, ac::user_id))
        .first(conn)
        .optional()
}

/// What the settings page lists.
#[derive(Debug, Clone)]
pub struct Linked {
    pub provider: String,
    pub email: String,
    pub needs_reauth: bool,
}

pub fn linked(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<Linked>> {
    let rows: Vec<(String, String, bool)> = ac::table
        .filter(ac::user_id.eq(user_id))
        .order(ac::provider)
        .select((ac::provider, ac::email, ac::needs_reauth))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(provider, email, needs_reauth)| Linked {
            provider,
            email,
            needs_reauth,
        })
        .collect())
}

/// Decides what a provider's answer means, in one transaction.
/// `linking`: the user who started a link from Settings and the user signed
/// in now (both must be the same). `auto_link`: `OAUTH_LINK_VERIFIED_EMAIL`.
/// `language`: a new user's preference (the browser's language).
pub fn resolve(
    conn: &mut DbConn,
    cipher: &TokenCipher,
    provider: &str,
    p: &Profile,
    linking: Option<(i64, Option<i64>)>,
    auto_link: bool,
    language: &str,
) -> QueryResult<Outcome> {
    conn.write_transaction(|conn| {
        let existing = find(conn, provider, &p.account_id)?;
        if let Some((starter, current)) = linking {
            if current != Some(starter) {
                return Ok(Outcome::LinkSessionChanged);
            }
            return match existing {
                Some((id, owner)) if owner == starter => {
                    TokenUpdate::sealed(cipher, provider, &p.account_id, &p.tokens)
                        .apply(conn, id)?;
                    Ok(Outcome::User(starter))
                }
                Some(_) => Ok(Outcome::LinkedElsewhere),
                None => {
                    let has_one: bool = diesel::select(diesel::dsl::exists(
                        ac::table
                            .filter(ac::user_id.eq(starter))
                            .filter(ac::provider.eq(provider)),
                    ))
                    .get_result(conn)?;
                    if has_one {
                        return Ok(Outcome::AlreadyLinked);
                    }
                    insert(conn, cipher, starter, provider, p)?;
                    Ok(Outcome::User(starter))
                }
            };
        }
        if let Some((id, owner)) = existing {
            // A returning user: fresh tokens; the profile they edited stays theirs.
            // The link (provider, account id) is the identity here, so this
            // does not depend on the email the provider sends today.
            TokenUpdate::sealed(cipher, provider, &p.account_id, &p.tokens).apply(conn, id)?;
            return Ok(Outcome::User(owner));
        }
        // From here on an email decides: only one the provider verified.
        let Some(email) = p.email.as_deref() else {
            return Ok(if p.email_unverified {
                Outcome::EmailUnverified
            } else {
                Outcome::NoEmail
            });
        };
        let owner: Option<i64> = users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(conn)
            .optional()?;
        if let Some(owner) = owner {
            if auto_link {
                insert(conn, cipher, owner, provider, p)?;
                // The provider vouches for this very address.
                crate::email::verify::mark_verified(conn, owner)?;
                return Ok(Outcome::User(owner));
            }
            return Ok(Outcome::EmailInUse);
        }
        let now = Utc::now().naive_utc();
        diesel::insert_into(users::table)
            .values((
                users::email.eq(email),
                users::name.eq(&p.name),
                users::image.eq(&p.image),
                users::role.eq("user"),
                users::language.eq(language),
                users::created_at.eq(now),
                users::updated_at.eq(now),
                // Only an address the provider verified gets here.
                users::email_verified_at.eq(Some(now)),
            ))
            .execute(conn)?;
        let id: i64 = users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(conn)?;
        insert(conn, cipher, id, provider, p)?;
        Ok(Outcome::User(id))
    })
}

/// Unlinks `provider` from the user, unless it is their last way to sign in.
/// `Ok(false)`: refused (no password and no other provider).
pub fn unlink(conn: &mut DbConn, user_id: i64, provider: &str) -> QueryResult<Option<bool>> {
    conn.write_transaction(|conn| {
        let accounts: Vec<String> = ac::table
            .filter(ac::user_id.eq(user_id))
            .select(ac::provider)
            .load(conn)?;
        if !accounts.iter().any(|a| a == provider) {
            return Ok(None);
        }
        let has_password: bool = users::table
            .find(user_id)
            .select(users::password_hash.is_not_null())
            .first(conn)?;
        if !has_password && accounts.len() == 1 {
            return Ok(Some(false));
        }
        diesel::delete(
            ac::table
                .filter(ac::user_id.eq(user_id))
                .filter(ac::provider.eq(provider)),
        )
        .execute(conn)?;
        Ok(Some(true))
    })
}
