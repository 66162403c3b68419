//! Sign-in by link: a request mails a link (`/signin/email?token=…`, 15
//! minutes) to an existing account only, after the same work for any address.
//! Opening the link only looks ([`is_live`]), since mail scanners prefetch
//! links; the page's button spends it ([`sign_in`]): through the sign-in gate,
//! it verifies the address and starts a session, all in one transaction with
//! the token's deletion.

use diesel::prelude::*;

use super::tokens::{self, Purpose};
use super::{Site, compose};
use crate::audit::{self, Event, action};
use crate::auth::gate::{self, Refusal};
use crate::db::DbConn;
use crate::db::schema::users;
use crate::error::AppError;
use crate::i18n::Msg;
use crate::mail::Outgoing;
use crate::session::{Device, ExpiryPolicy, PlainToken};

/// Issues a sign-in link for the account with this (normalised) address and
/// records the request. `callback` is already sanitised (a local path); the
/// link carries it unless it is `/`. For an unknown address: the same
/// statements but the token's insert, a token-sized hash, and `None`.
pub fn request(
    conn: &mut DbConn,
    site: &Site,
    email: &str,
    callback: &str,
    device: &Device,
) -> QueryResult<Option<Outgoing>> {
    conn.write_transaction(|conn| {
        let Some((issued, lang)) = super::issue_for_address(
            conn,
            Purpose::SignIn,
            email,
            action::SIGN_IN_LINK_SENT,
            device,
        )?
        else {
            return Ok(None);
        };
        Ok(Some(compose(
            site,
            lang,
            email,
            "mail-signin-subject",
            Msg::key("mail-signin-what"),
            &link(site, issued.token, callback),
            issued.expires_at,
        )))
    })
}

/// `GATEHOUSE_URL/signin/email?token=…`, with `&callbackUrl=…` when the
/// callback is somewhere other than the home page.
fn link(site: &Site, token: PlainToken, callback: &str) -> String {
    let mut path = format!("/signin/email?token={}", token.expose());
    if callback != "/" {
        path.push_str("&callbackUrl=");
        path.extend(url::form_urlencoded::byte_serialize(callback.as_bytes()));
    }
    site.link(&path)
}

/// Whether a sign-in link is live (the page with the button shows it; nothing
/// is spent).
pub fn is_live(conn: &mut DbConn, token: &PlainToken) -> QueryResult<bool> {
    Ok(tokens::peek(conn, Purpose::SignIn, token)?.is_some())
}

/// A sign-in that went through: the user and the token of this browser's new
/// session.
#[derive(Debug)]
pub struct SignedIn {
    pub user_id: i64,
    /// The session, or a pending sign-in when the user has two factors on.
    pub begun: crate::twofactor::Begun,
}

/// Why a link signed nobody in; in either case nothing changed.
#[derive(Debug, PartialEq, Eq)]
pub enum NotSignedIn {
    /// Unknown, spent, expired, of another purpose, or sent to an address the
    /// user no longer has.
    DeadLink,
    /// The sign-in gate refused the user (banned, a domain not allowed).
    Refused(Refusal),
}

/// What rolls the spend back.
enum Abort {
    Not(NotSignedIn),
    Failed(AppError),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Failed(e.into())
    }
}

/// Spends a sign-in link: marks the address verified (audited when it
/// changes), revokes the user's other sign-in links, creates the session and
/// audits `sign_in` (`method: email`), in the transaction that deletes the
/// token. A refusal rolls everything back, the token included: it stays as it
/// was (worthless for a changed address; for a banned user, usable once the
/// ban is lifted, within its 15 minutes).
pub fn sign_in(
    conn: &mut DbConn,
    token: &PlainToken,
    rules: &gate::Rules,
    device: &Device,
    policy: &ExpiryPolicy,
    callback_url: &str,
) -> Result<Result<SignedIn, NotSignedIn>, AppError> {
    let spent = tokens::spend(conn, Purpose::SignIn, token, |conn, claim| {
        let user_id = claim.user_id;
        let current: String = users::table
            .find(user_id)
            .select(users::email)
            .first(conn)?;
        if current != claim.email {
            return Err(Abort::Not(NotSignedIn::DeadLink));
        }
        if let Err(refusal) =
            gate::check(conn, user_id, rules, crate::hooks::SignInMethod::EmailLink)?
        {
            return Err(Abort::Not(NotSignedIn::Refused(refusal)));
        }
        if super::verify::mark_verified(conn, user_id)? {
            audit::record(conn, Event::by(user_id, action::EMAIL_VERIFIED, device))?;
        }
        tokens::revoke(conn, user_id, Purpose::SignIn)?;
        let begun = crate::twofactor::begin_sign_in(
            conn,
            user_id,
            device,
            policy,
            serde_json::json!({"method": "email"}),
            callback_url,
        )?;
        Ok(SignedIn { user_id, begun })
    });
    match spent {
        Ok(Some(done)) => Ok(Ok(done)),
        Ok(None) => Ok(Err(NotSignedIn::DeadLink)),
        Err(Abort::Not(why)) => Ok(Err(why)),
        Err(Abort::Failed(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_carries_the_callback_only_when_it_goes_somewhere() {
        let site = Site::new(&url::Url::parse("https://auth.example.com/").unwrap());
        let home = link(&site, PlainToken::generate(), "/");
        assert!(
            home.starts_with("https://auth.example.com/signin/email?token="),
            "{home}"
        );
        assert!(!home.contains("callbackUrl"), "{home}");
        let deep = link(&site, PlainToken::generate(), "/settings?tab=a&b=c");
        assert!(
            deep.ends_with("&callbackUrl=%2Fsettings%3Ftab%3Da%26b%3Dc"),
            "{deep}"
        );
    }
}
