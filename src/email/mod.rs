//! The email flows: verification, password reset, sign-in links and email
//! change, all on the same [`tokens`]. Each flow is a domain function that takes
//! a connection and plain values, writes its token and audit event in one
//! transaction, and answers the messages for `mail::Mailer::send`; handlers
//! send it after the commit, so a slow mail server never holds a request.

pub mod change;
pub mod reset;
pub mod signin_link;
pub mod tokens;
pub mod verify;

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::db::DbConn;
use crate::i18n::{Lang, Msg};
use crate::mail::Outgoing;
use crate::ratelimit::{self, Rule};
use crate::session::Device;

/// `EMAIL_VERIFICATION`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verification {
    /// No verification mail, no banner.
    Off,
    /// A sign-up gets a verification mail; unverified users may sign in.
    #[default]
    Optional,
    /// A password sign-in of an unverified user is refused (`email_unverified`).
    Required,
}

impl Verification {
    pub fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, crate::config::ConfigError> {
        match get("EMAIL_VERIFICATION")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("optional") => Ok(Verification::Optional),
            Some("off") => Ok(Verification::Off),
            Some("required") => Ok(Verification::Required),
            Some(other) => Err(crate::config::bad(
                "EMAIL_VERIFICATION",
                format!("`{other}` is not off, optional or required"),
            )),
        }
    }

    pub fn is_on(self) -> bool {
        self != Verification::Off
    }
}

/// Where links point and what mails call the site.
#[derive(Clone, Debug)]
pub struct Site {
    /// `GATEHOUSE_URL`.
    pub url: url::Url,
}

impl Site {
    pub fn new(url: &url::Url) -> Self {
        Site { url: url.clone() }
    }

    /// The name mails use: "gatehouse at HOST", in `lang`.
    pub fn name(&self, lang: Lang) -> String {
        lang.arg(
            "mail-site",
            "host",
            self.url.host_str().unwrap_or("localhost"),
        )
    }

    /// `GATEHOUSE_URL` + `path` (which starts with `/`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{}", self.url.as_str().trim_end_matches('/'), path)
    }
}

/// One plain-text mail in the recipient's language: the site's name, what
/// happened (`what`, given `$site`), the link, when it expires in the
/// recipient's locale, and what to do if it was not you.
pub fn compose(
    site: &Site,
    lang: Lang,
    to: &str,
    subject: &'static str,
    what: Msg,
    link: &str,
    expires_at: NaiveDateTime,
) -> Outgoing {
    let name = site.name(lang);
    let text = format!(
        "{hello}\n\n{what}\n\n{link}\n\n{until}\n\n{not_you}\n\n-- \n{name}\n",
        hello = lang.get("mail-hello"),
        what = lang.msg(what.with("site", &name)),
        until = lang.msg(Msg::key("mail-works-until").time("until", expires_at)),
        not_you = lang.get("mail-not-you"),
    );
    Outgoing {
        to: to.to_owned(),
        subject: subject_line(lang, subject, &name),
        text,
    }
}

/// "Subject (gatehouse at HOST)".
pub fn subject_line(lang: Lang, subject: &'static str, site_name: &str) -> String {
    lang.arg2(
        "mail-subject",
        "subject",
        lang.get(subject),
        "site",
        site_name,
    )
}

/// For a request that must not tell a stranger whether `email` has an
/// account: issues a token of `purpose` for the account with this
/// (normalised) address and records `action` with the account as target. For
/// an unknown address, the same statements but the token's insert (a
/// token-sized hash instead), the event with no target, and `None`. With
/// the token comes the language of the account's mails.
pub fn issue_for_address(
    conn: &mut DbConn,
    purpose: tokens::Purpose,
    email: &str,
    action: &'static str,
    device: &Device,
) -> QueryResult<Option<(tokens::Issued, Lang)>> {
    issue_for(conn, purpose, email, action, device, false)
}

/// As [`issue_for_address`], for an account whose address is not verified
/// yet (the anonymous resend): a verified one is treated as unknown, after
/// the same statements.
pub fn issue_for_unverified_address(
    conn: &mut DbConn,
    purpose: tokens::Purpose,
    email: &str,
    action: &'static str,
    device: &Device,
) -> QueryResult<Option<(tokens::Issued, Lang)>> {
    issue_for(conn, purpose, email, action, device, true)
}

fn issue_for(
    conn: &mut DbConn,
    purpose: tokens::Purpose,
    email: &str,
    action: &'static str,
    device: &Device,
    unverified_only: bool,
) -> QueryResult<Option<(tokens::Issued, Lang)>> {
    use crate::db::schema::users;
    use diesel::prelude::*;
    // One statement for every address: the verification state is read
    // whether or not it matters, and judged here.
    let found: Option<(i64, String, Option<NaiveDateTime>)> = users::table
        .filter(users::email.eq(email))
        .select((users::id, users::language, users::email_verified_at))
        .first(conn)
        .optional()?;
    let found = found.filter(|(_, _, verified)| !unverified_only || verified.is_none());
    let event = |target| crate::audit::Event {
        actor_id: None,
        target_id: target,
        action,
        device: Some(device),
        details: serde_json::json!({}),
    };
    let Some((user_id, language, _)) = found else {
        let _ = crate::session::PlainToken::generate().hash();
        crate::audit::record(conn, event(None))?;
        return Ok(None);
    };
    let issued = tokens::issue(conn, purpose, user_id, email)?;
    crate::audit::record(conn, event(Some(user_id)))?;
    Ok(Some((issued, Lang::negotiate(Some(&language), None))))
}

/// Counts one mail to `address` from this client under `RATE_LIMIT_EMAIL`
/// (per address and, separately, per client IP); `Some(seconds)` when either
/// is used up, and then nothing is sent. Counted whether or not the address
/// has an account, so the answer tells a stranger nothing.
pub fn budget(
    conn: &mut DbConn,
    rule: Option<Rule>,
    address: &str,
    device: &Device,
) -> QueryResult<Option<u64>> {
    let Some(rule) = rule else {
        return Ok(None);
    };
    let keys = [
        format!("email:ip:{}", ratelimit::client_key(&device.ip)),
        format!("email:address:{address}"),
    ];
    let mut refused = None;
    for key in &keys {
        let hit = ratelimit::hit(conn, key, &rule)?;
        if hit.first_refused() {
            crate::audit::record(conn, ratelimit::trip(device, "email", key, hit.retry_after))?;
        }
        refused = refused.max(hit.refused());
    }
    Ok(refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_modes_parse_and_a_bad_one_names_its_variable() {
        let of = |v: Option<&str>| Verification::from_lookup(&|_: &str| v.map(str::to_owned));
        assert_eq!(of(None).unwrap(), Verification::Optional);
        assert_eq!(of(Some("OFF")).unwrap(), Verification::Off);
        assert_eq!(of(Some("required")).unwrap(), Verification::Required);
        let err = of(Some("sometimes")).unwrap_err();
        assert_eq!(err.variable, "EMAIL_VERIFICATION");
    }

    #[test]
    fn a_mail_says_what_where_until_when_and_if_not_you() {
        let site = Site::new(&url::Url::parse("https://auth.example.com").unwrap());
        assert_eq!(
            site.link("/verify-email?token=abc"),
            "https://auth.example.com/verify-email?token=abc"
        );
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let what = Msg::key("mail-reset-what");
        let m = compose(
            &site,
            Lang::En,
            "a@x.org",
            "mail-reset-subject",
            what.clone(),
            "https://l",
            at,
        );
        assert_eq!(m.to, "a@x.org");
        assert_eq!(
            m.subject,
            "Reset your password (gatehouse at auth.example.com)"
        );
        for part in [
            "account at gatehouse at auth.example.com. To choose",
            "https://l",
            "November 30, 2026, 12:00 UTC",
            "If this was not you",
        ] {
            assert!(m.text.contains(part), "{part}: {}", m.text);
        }
        let de = compose(
            &site,
            Lang::De,
            "a@x.org",
            "mail-reset-subject",
            what,
            "https://l",
            at,
        );
        assert!(
            de.subject.starts_with("Setzen Sie Ihr Passwort zurück"),
            "{}",
            de.subject
        );
        for part in [
            "Hallo,",
            "https://l",
            "30.11.2026, 12:00 UTC",
            "Wenn Sie das nicht waren",
        ] {
            assert!(de.text.contains(part), "{part}: {}", de.text);
        }
    }
}
