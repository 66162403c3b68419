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

    /// The name mails use: "gatehouse at HOST".
    pub fn name(&self) -> String {
        format!(
            "gatehouse at {}",
            self.url.host_str().unwrap_or("localhost")
        )
    }

    /// `GATEHOUSE_URL` + `path` (which starts with `/`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{}", self.url.as_str().trim_end_matches('/'), path)
    }
}

/// One plain-text mail: the site's name, what happened, the link, when it
/// expires, and what to do if it was not you.
pub fn compose(
    site: &Site,
    to: &str,
    subject: &str,
    what: &str,
    link: &str,
    expires_at: NaiveDateTime,
) -> Outgoing {
    let name = site.name();
    let text = format!(
        "Hello,\n\n{what}\n\n{link}\n\nThe link works once, until {} UTC.\n\n\
         If this was not you, ignore this mail: nothing changes unless the link is opened.\n\n\
         -- \n{name}\n",
        expires_at.format("%Y-%m-%d %H:%M"),
    );
    Outgoing {
        to: to.to_owned(),
        subject: format!("{subject} ({name})"),
        text,
    }
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
        let m = compose(&site, "a@x.org", "Reset", "Do it:", "https://l", at);
        assert_eq!(m.to, "a@x.org");
        assert!(m.subject.contains("auth.example.com"));
        for part in [
            "Do it:",
            "https://l",
            "2026-11-30 12:00 UTC",
            "If this was not you",
        ] {
            assert!(m.text.contains(part), "{part}: {}", m.text);
        }
    }
}
