//! Email verification (`EMAIL_VERIFICATION`): a sign-up or a resend mails a
//! link (`/verify-email?token=…`, 24 hours); opening it marks the address
//! verified (`users.email_verified_at`). A link counts only for the address it
//! was sent to: after an email change it verifies nothing.

use chrono::Utc;
use diesel::prelude::*;

use super::tokens::{self, Purpose};
use super::{Site, compose};
use crate::audit::{self, Event, action};
use crate::db::DbConn;
use crate::db::schema::users;
use crate::i18n::{Lang, Msg};
use crate::mail::Outgoing;
use crate::session::Device;

/// Marks the user's address verified now, unless it already was; whether it
/// changed.
pub fn mark_verified(conn: &mut DbConn, user_id: i64) -> QueryResult<bool> {
    let n = diesel::update(
        users::table
            .find(user_id)
            .filter(users::email_verified_at.is_null()),
    )
    .set(users::email_verified_at.eq(Some(Utc::now().naive_utc())))
    .execute(conn)?;
    Ok(n == 1)
}

/// Issues a verification link for `user_id` and records who asked
/// (`parties` as from `SignedIn::audit_parties`, or the user themselves);
/// `None` when the address is verified already (nothing written).
pub fn mail_for(
    conn: &mut DbConn,
    site: &Site,
    parties: (i64, i64),
    device: &Device,
) -> QueryResult<Option<Outgoing>> {
    let user_id = parties.1;
    // Reads the user, then writes: the write lock first on SQLite.
    conn.write_transaction(|conn| {
        let (email, verified, language): (String, Option<chrono::NaiveDateTime>, String) =
            users::table
                .find(user_id)
                .select((users::email, users::email_verified_at, users::language))
                .first(conn)?;
        if verified.is_some() {
            return Ok(None);
        }
        let issued = tokens::issue(conn, Purpose::VerifyEmail, user_id, &email)?;
        audit::record(
            conn,
            Event::between(parties, action::EMAIL_VERIFICATION_SENT, device),
        )?;
        let lang = Lang::negotiate(Some(&language), None);
        Ok(Some(verification_mail(site, lang, &email, issued)))
    })
}

/// A verification link for the unverified account with this (normalised)
/// address, if there is one (the anonymous resend); the caller answers the
/// same either way. The same statements for any address, as a reset request
/// makes them: one write transaction, the account read, and
/// `email_verification_sent` recorded (its target only when a link goes out);
/// an unknown or verified address skips only the token's insert, hashing a
/// token-sized value instead.
pub fn mail_for_address(
    conn: &mut DbConn,
    site: &Site,
    email: &str,
    device: &Device,
) -> QueryResult<Option<Outgoing>> {
    conn.write_transaction(|conn| {
        let Some((issued, lang)) = super::issue_for_unverified_address(
            conn,
            Purpose::VerifyEmail,
            email,
            action::EMAIL_VERIFICATION_SENT,
            device,
        )?
        else {
            return Ok(None);
        };
        Ok(Some(verification_mail(site, lang, email, issued)))
    })
}

/// The mail with the verification link of `issued`.
fn verification_mail(site: &Site, lang: Lang, email: &str, issued: tokens::Issued) -> Outgoing {
    let link = site.link(&format!("/verify-email?token={}", issued.token.expose()));
    compose(
        site,
        lang,
        email,
        "mail-verify-subject",
        Msg::key("mail-verify-what"),
        &link,
        issued.expires_at,
    )
}

/// Spends a verification link: the user whose address it verified, or `None`
/// (unknown, spent, expired, another purpose, or sent to an address the user
/// no longer has).
pub fn verify(
    conn: &mut DbConn,
    token: &crate::session::PlainToken,
    device: &Device,
) -> QueryResult<Option<i64>> {
    let spent = tokens::spend(conn, Purpose::VerifyEmail, token, |conn, claim| {
        let current: String = users::table
            .find(claim.user_id)
            .select(users::email)
            .first(conn)?;
        if current != claim.email {
            return Ok::<_, diesel::result::Error>(None);
        }
        if mark_verified(conn, claim.user_id)? {
            audit::record(
                conn,
                Event::by(claim.user_id, action::EMAIL_VERIFIED, device),
            )?;
        }
        tokens::revoke(conn, claim.user_id, Purpose::VerifyEmail)?;
        Ok(Some(claim.user_id))
    })?;
    Ok(spent.flatten())
}
