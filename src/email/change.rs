//! Email change: a request mails a confirmation link
//! (`/settings/email/confirm?token=…`, 24 hours) to the new address and a
//! notice, with no link that changes anything, to the old one. The address
//! changes only when the user the link was issued for opens it: the new
//! address is set and verified (opening the link proves it), and the user's
//! other mailed links are revoked, in one transaction with the token's
//! deletion.

use chrono::Utc;
use diesel::prelude::*;

use super::tokens::{self, Purpose};
use super::{Site, compose};
use crate::audit::{self, Event, action};
use crate::db::DbConn;
use crate::db::schema::users;
use crate::error::AppError;
use crate::i18n::{Lang, Msg};
use crate::mail::Outgoing;
use crate::session::{Device, PlainToken};

/// What a request answers: the two mails to send after the commit.
#[derive(Debug)]
pub struct Requested {
    /// To the new address, with the confirmation link.
    pub confirmation: Outgoing,
    /// To the old address: what was asked, and what to do if it was not you.
    pub notice: Outgoing,
}

/// The refusal for an address another account holds (`409`).
pub fn taken() -> AppError {
    AppError::Conflict(Msg::key("conflict-email-other-account"))
}

/// The account holding `email`, other than `user_id`.
fn holder(conn: &mut DbConn, email: &str, user_id: i64) -> QueryResult<Option<i64>> {
    users::table
        .filter(users::email.eq(email))
        .filter(users::id.ne(user_id))
        .select(users::id)
        .first(conn)
        .optional()
}

/// Asks to change the address of `parties.1` (as from
/// `SignedIn::audit_parties`) to `new_email` (already normalised). The same
/// address: `Invalid`; an address another account holds: `Conflict`, with
/// nothing written. Otherwise earlier change links of the user are revoked, a
/// new one is issued for the new address and the request is audited.
pub fn request(
    conn: &mut DbConn,
    site: &Site,
    parties: (i64, i64),
    new_email: &str,
    device: &Device,
) -> Result<Requested, AppError> {
    let user_id = parties.1;
    conn.write_transaction(|conn| {
        let (current, language): (String, String) = users::table
            .find(user_id)
            .select((users::email, users::language))
            .first(conn)?;
        let lang = Lang::negotiate(Some(&language), None);
        if current == new_email {
            return Err(AppError::invalid("email", Msg::key("invalid-same-email")));
        }
        if holder(conn, new_email, user_id)?.is_some() {
            return Err(taken());
        }
        tokens::revoke(conn, user_id, Purpose::ChangeEmail)?;
        let issued = tokens::issue(conn, Purpose::ChangeEmail, user_id, new_email)?;
        audit::record(
            conn,
            Event::between(parties, action::EMAIL_CHANGE_REQUESTED, device),
        )?;
        let link = site.link(&format!(
            "/settings/email/confirm?token={}",
            issued.token.expose()
        ));
        let confirmation = compose(
            site,
            lang,
            new_email,
            "mail-change-subject",
            Msg::key("mail-change-what").with("current", &current),
            &link,
            issued.expires_at,
        );
        Ok(Requested {
            confirmation,
            notice: notice(site, lang, &current, new_email),
        })
    })
}

/// The mail to the old address: one link, to Settings, that changes nothing.
fn notice(site: &Site, lang: Lang, old: &str, new: &str) -> Outgoing {
    let name = site.name(lang);
    let asked = Msg::key("mail-notice-asked")
        .with("site", &name)
        .with("old", old)
        .with("new", new);
    // One link, as every mail has (SPEC), and one that changes nothing.
    let not_you = Msg::key("mail-notice-not-you").with("settings", site.link("/settings"));
    let text = format!(
        "{hello}\n\n{asked}\n\n{nothing}\n\n{not_you}\n\n-- \n{name}\n",
        hello = lang.get("mail-hello"),
        asked = lang.msg(&asked),
        nothing = lang.arg("mail-notice-nothing", "new", new),
        not_you = lang.msg(&not_you),
    );
    Outgoing {
        to: old.to_owned(),
        subject: super::subject_line(lang, "mail-notice-subject", &name),
        text,
    }
}

/// Why a confirmation did not go through.
#[derive(Debug)]
pub enum Refused {
    /// The link is unknown, spent, expired or of another purpose.
    DeadLink,
    /// The link was issued for another user; it is kept.
    NotYours,
    /// The address now belongs to another account ([`taken`]); the link is
    /// kept and nothing changed.
    Taken,
    Other(AppError),
}

impl From<AppError> for Refused {
    fn from(e: AppError) -> Self {
        Refused::Other(e)
    }
}

impl From<diesel::result::Error> for Refused {
    fn from(e: diesel::result::Error) -> Self {
        Refused::Other(e.into())
    }
}

/// Spends a change link opened by `signed_in_user_id`: the user's address
/// becomes the one the link was sent to, verified, and every other mailed
/// link of the user (change, reset, sign-in, verification) is revoked.
/// Answers the new address. Refused without spending the link when it was
/// issued for another user or the address is taken meanwhile (a race that
/// reaches the unique index counts as taken).
pub fn confirm(
    conn: &mut DbConn,
    token: &PlainToken,
    signed_in_user_id: i64,
    device: &Device,
) -> Result<String, Refused> {
    let spent = tokens::spend(conn, Purpose::ChangeEmail, token, |conn, claim| {
        let user_id = claim.user_id;
        if user_id != signed_in_user_id {
            return Err(Refused::NotYours);
        }
        if holder(conn, &claim.email, user_id)?.is_some() {
            return Err(Refused::Taken);
        }
        let now = Utc::now().naive_utc();
        let updated = diesel::update(users::table.find(user_id))
            .set((
                users::email.eq(&claim.email),
                users::email_verified_at.eq(Some(now)),
                users::updated_at.eq(now),
            ))
            .execute(conn);
        match updated {
            Ok(_) => {}
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => return Err(Refused::Taken),
            Err(e) => return Err(e.into()),
        }
        for purpose in Purpose::ALL {
            tokens::revoke(conn, user_id, purpose)?;
        }
        audit::record(conn, Event::by(user_id, action::EMAIL_CHANGED, device))?;
        Ok(claim.email.clone())
    })?;
    spent.ok_or(Refused::DeadLink)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_names_both_addresses_and_carries_no_token() {
        let site = Site::new(&url::Url::parse("https://auth.example.com").unwrap());
        let m = notice(&site, Lang::En, "old@example.com", "new@example.com");
        assert_eq!(m.to, "old@example.com");
        for part in [
            "old@example.com",
            "new@example.com",
            "Nothing changes",
            "https://auth.example.com/settings",
        ] {
            assert!(m.text.contains(part), "{part}: {}", m.text);
        }
        assert!(!m.text.contains("token"), "{}", m.text);
        assert_eq!(
            m.text.matches("https://").count(),
            1,
            "one link: {}",
            m.text
        );
    }
}
