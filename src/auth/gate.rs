//! The sign-in gate: the one place that decides whether a user whose identity
//! is proven (right password, or a provider's answer) may have a session.
//! Every way in (password, provider, sign-in link, passkey, the second
//! step, a password reset) calls [`check`]; after gatehouse's own rules it
//! asks the app's gate ([`crate::hooks::Callbacks::sign_in`]), when one is
//! installed, in the same transaction.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::users;
use crate::hooks::{Decision, Hooks, SignInAttempt, SignInMethod};
use crate::i18n::Msg;

/// What decides whether a proven identity may have a session, besides the
/// user's row: the domain allow-list and the app's gate.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// `GATEHOUSE_EMAIL_DOMAINS` (empty: any).
    pub domains: Vec<String>,
    /// The app's callbacks (none for the server).
    pub hooks: Hooks,
}

impl Rules {
    /// The app's gate on a new account, before it exists (sign-up).
    pub fn new_account(&self, email: &str, name: &str) -> Result<(), Refusal> {
        self.ask(&SignInAttempt {
            user_id: None,
            email,
            name,
            role: "user",
            method: SignInMethod::SignUp,
        })
    }

    /// The app's gate on `attempt`, as a refusal when it says no.
    fn ask(&self, attempt: &SignInAttempt<'_>) -> Result<(), Refusal> {
        match self.hooks.sign_in(attempt) {
            Decision::Allow => Ok(()),
            Decision::Deny(message) => Err(Refusal::App(message)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Banned {
        reason: Option<String>,
        until: Option<NaiveDateTime>,
    },
    /// The email's domain is not in `GATEHOUSE_EMAIL_DOMAINS`.
    Domain,
    /// `EMAIL_VERIFICATION=required` and the address is not verified yet
    /// (password sign-in only).
    EmailUnverified,
    /// The app's gate said no, with this message.
    App(String),
}

impl Refusal {
    /// Why, to show the user (a ban's end in the reader's locale).
    pub fn msg(&self) -> Msg {
        match self {
            Refusal::Banned { reason, until } => {
                let reason = reason.as_deref().filter(|r| !r.is_empty());
                let m = match (until, reason) {
                    (Some(_), Some(_)) => Msg::key("refused-banned-until-reason"),
                    (Some(_), None) => Msg::key("refused-banned-until"),
                    (None, Some(_)) => Msg::key("refused-banned-reason"),
                    (None, None) => Msg::key("refused-banned"),
                };
                let m = match until {
                    Some(t) => m.time("until", *t),
                    None => m,
                };
                match reason {
                    Some(r) => m.with("reason", r),
                    None => m,
                }
            }
            Refusal::Domain => Msg::key("refused-domain"),
            Refusal::EmailUnverified => Msg::key("refused-unverified"),
            Refusal::App(message) => Msg::Text(message.clone()),
        }
    }

    /// [`Refusal::msg`] in English.
    pub fn message(&self) -> String {
        self.msg().to_string()
    }
}

/// Whether `email` may sign in under the domain allow-list (empty: any).
pub fn domain_allowed(email: &str, domains: &[String]) -> bool {
    if domains.is_empty() {
        return true;
    }
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
}

/// Whether a ban in these columns is in force now (it lifts itself at `until`).
pub fn ban_in_force(banned_at: Option<NaiveDateTime>, until: Option<NaiveDateTime>) -> bool {
    banned_at.is_some() && until.is_none_or(|u| u > Utc::now().naive_utc())
}

/// `Ok(Ok(()))`: the user may sign in by `method`; `Ok(Err(_))`: refused,
/// and why. A user deleted since the caller read the id is diesel's
/// `NotFound`.
pub fn check(
    conn: &mut DbConn,
    user_id: i64,
    rules: &Rules,
    method: SignInMethod,
) -> QueryResult<Result<(), Refusal>> {
    decide(conn, user_id, rules, method, false)
}

/// [`check`] for a password sign-in: with `require_verified_email`
/// (`EMAIL_VERIFICATION=required`) an unverified address is refused too. It
/// runs only after the right password, so it tells a stranger nothing.
pub fn check_password_sign_in(
    conn: &mut DbConn,
    user_id: i64,
    rules: &Rules,
    require_verified_email: bool,
) -> QueryResult<Result<(), Refusal>> {
    decide(
        conn,
        user_id,
        rules,
        SignInMethod::Password,
        require_verified_email,
    )
}

type GateRow = (
    String,
    String,
    String,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
    Option<NaiveDateTime>,
);

fn decide(
    conn: &mut DbConn,
    user_id: i64,
    rules: &Rules,
    method: SignInMethod,
    require_verified_email: bool,
) -> QueryResult<Result<(), Refusal>> {
    let (email, name, role, banned_at, until, reason, verified_at): GateRow = users::table
        .find(user_id)
        .select((
            users::email,
            users::name,
            users::role,
            users::banned_at,
            users::banned_until,
            users::ban_reason,
            users::email_verified_at,
        ))
        .first(conn)?;
    if ban_in_force(banned_at, until) {
        return Ok(Err(Refusal::Banned { reason, until }));
    }
    if !domain_allowed(&email, &rules.domains) {
        return Ok(Err(Refusal::Domain));
    }
    if require_verified_email && verified_at.is_none() {
        return Ok(Err(Refusal::EmailUnverified));
    }
    Ok(rules.ask(&SignInAttempt {
        user_id: Some(user_id),
        email: &email,
        name: &name,
        role: &role,
        method,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_match_exactly_and_case_blind() {
        assert!(domain_allowed("a@x.org", &[]));
        let d = vec!["example.com".to_string()];
        assert!(domain_allowed("a@Example.COM", &d));
        assert!(!domain_allowed("a@evil-example.com", &d));
        assert!(!domain_allowed("a@example.com.evil", &d));
        assert!(!domain_allowed("nobody", &d));
    }

    #[test]
    fn bans_lift_themselves() {
        let now = Utc::now().naive_utc();
        let hour = chrono::Duration::hours(1);
        assert!(!ban_in_force(None, None));
        assert!(ban_in_force(Some(now), None));
        assert!(ban_in_force(Some(now), Some(now + hour)));
        assert!(!ban_in_force(Some(now - hour), Some(now - hour)));
    }
}
