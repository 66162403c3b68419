//! Password reset: a request mails a link (`/reset-password?token=…`, 1 hour)
//! to an existing account only, after the same work for any address; spending
//! it sets the password, verifies the address, ends every session of the user
//! and signs this browser in, all in one transaction with the token's deletion.

use diesel::prelude::*;

use super::tokens::{self, Purpose};
use super::{Site, compose};
use crate::audit::{self, Event, action};
use crate::db::DbConn;
use crate::db::schema::users;
use crate::error::AppError;
use crate::i18n::Msg;
use crate::mail::Outgoing;
use crate::session::{Device, ExpiryPolicy, PlainToken};

/// Issues a reset link for the account with this (normalised) address and
/// records the request; for an unknown address, the same statements but the
/// token's insert, a token-sized hash, and `None`.
pub fn request(
    conn: &mut DbConn,
    site: &Site,
    email: &str,
    device: &Device,
) -> QueryResult<Option<Outgoing>> {
    conn.write_transaction(|conn| {
        let Some((issued, lang)) = super::issue_for_address(
            conn,
            Purpose::ResetPassword,
            email,
            action::PASSWORD_RESET_REQUESTED,
            device,
        )?
        else {
            return Ok(None);
        };
        let link = site.link(&format!("/reset-password?token={}", issued.token.expose()));
        Ok(Some(compose(
            site,
            lang,
            email,
            "mail-reset-subject",
            Msg::key("mail-reset-what"),
            &link,
            issued.expires_at,
        )))
    })
}

/// Whether a reset link is live (the form shows it; nothing is spent).
pub fn is_live(conn: &mut DbConn, token: &PlainToken) -> QueryResult<bool> {
    Ok(tokens::peek(conn, Purpose::ResetPassword, token)?.is_some())
}

/// The name and address of the account a live reset link is for: the new
/// password must not lean on them. `None`: the link is not live.
pub fn account_of(conn: &mut DbConn, token: &PlainToken) -> QueryResult<Option<(String, String)>> {
    let Some(claim) = tokens::peek(conn, Purpose::ResetPassword, token)? else {
        return Ok(None);
    };
    users::table
        .find(claim.user_id)
        .select((users::name, users::email))
        .first(conn)
        .optional()
}

/// A reset that went through: the user, and this browser's new session (or
/// a pending sign-in when the user has two factors on).
#[derive(Debug)]
pub struct Reset {
    pub user_id: i64,
    pub begun: crate::twofactor::Begun,
}

/// Spends a reset link on `password_hash` (already hashed, off this
/// connection). `Ok(None)`: the link is unknown, spent, expired, of another
/// purpose, or was sent to an address the user no longer has. A user the
/// sign-in gate refuses (banned, a domain no longer allowed) gets `Refused`
/// and nothing changes.
pub fn reset(
    conn: &mut DbConn,
    token: &PlainToken,
    password_hash: &str,
    rules: &crate::auth::gate::Rules,
    device: &Device,
    policy: &ExpiryPolicy,
) -> Result<Option<Reset>, AppError> {
    let spent = tokens::spend(conn, Purpose::ResetPassword, token, |conn, claim| {
        let user_id = claim.user_id;
        let current: String = users::table
            .find(user_id)
            .select(users::email)
            .first(conn)?;
        if current != claim.email {
            return Ok(None);
        }
        crate::auth::gate::check(
            conn,
            user_id,
            rules,
            crate::hooks::SignInMethod::PasswordReset,
        )?
        .map_err(AppError::Refused)?;
        crate::users::set_password_hash(conn, user_id, password_hash)?;
        super::verify::mark_verified(conn, user_id)?;
        // Every session of the user, and any they impersonate through.
        crate::session::delete_all_by(conn, user_id)?;
        // Other links that would get into the account are worthless now.
        tokens::revoke_account_links(conn, user_id)?;
        audit::record(conn, Event::by(user_id, action::PASSWORD_RESET, device))?;
        let begun = crate::twofactor::begin_sign_in(
            conn,
            user_id,
            device,
            policy,
            serde_json::json!({"method": "password_reset"}),
            "/",
        )?;
        Ok::<_, AppError>(Some(Reset { user_id, begun }))
    })?;
    Ok(spent.flatten())
}
