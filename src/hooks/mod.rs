//! What an app that embeds gatehouse may plug in: [`Callbacks`], a trait
//! whose methods all default to doing nothing. The server binary installs
//! none of them, so its requests pay nothing for them.
//!
//! - [`Callbacks::sign_in`], the sign-in gate: asked after the credentials (or
//!   the provider's answer) are proven and gatehouse's own rules passed, before
//!   a session exists. A [`Decision::Deny`] refuses the sign-in with the app's
//!   message, and nothing of that sign-in is kept.
//! - [`Callbacks::enrich_session`]: app fields added to this request's session
//!   view, read once per request, after the one join.
//! - [`Callbacks::event`]: a [`Notification`] for each audited event, after the
//!   transaction that made it committed, never for one that rolled back.

pub mod notify;

use std::sync::Arc;

use futures_util::future::LocalBoxFuture;

pub use notify::{EventKind, Notification};

use crate::db::Db;
use crate::session::extract::SignedIn;

/// App fields of a session view: shown under `"app"` in
/// `GET /api/auth/session` and in [`SignedIn::app`].
pub type AppFields = serde_json::Map<String, serde_json::Value>;

/// The future an enrichment hook answers: it runs on the request's worker,
/// once per request that reads the session. An `Err` answers the request
/// `503` (the view it would complete is unavailable) and is logged.
pub type Enrichment = LocalBoxFuture<'static, Result<AppFields, String>>;

/// How a sign-in proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInMethod {
    /// Email and password (the form or JSON).
    Password,
    /// A new account from the sign-up form: asked before the account exists.
    SignUp,
    /// An OAuth or OpenID Connect provider, by its id (`github`, `oidc`…).
    Provider(String),
    /// A sign-in link sent by mail.
    EmailLink,
    /// A passkey.
    Passkey,
    /// The second step of a two-factor sign-in (the gate is asked at the
    /// first step too: a ban or a rule may have changed in between).
    TwoFactor,
    /// A password reset, which signs the browser in.
    PasswordReset,
}

/// Who is signing in, as the gate sees it.
#[derive(Debug, Clone)]
pub struct SignInAttempt<'a> {
    /// The account; `None` for [`SignInMethod::SignUp`] (it does not exist yet).
    pub user_id: Option<i64>,
    /// The account's address (normalised as gatehouse stores it).
    pub email: &'a str,
    /// The account's display name.
    pub name: &'a str,
    /// The account's role (`user`, `admin`, …); `user` for a sign-up.
    pub role: &'a str,
    /// How the sign-in proved itself.
    pub method: SignInMethod,
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go on: the session is made.
    Allow,
    /// Refuse, with a message shown to the person signing in (on the page
    /// they used, or as `{"error":"access_denied","message":…}` in JSON).
    Deny(String),
}

/// The app's callbacks. Implement the ones you need; every default does
/// nothing and costs nothing.
///
/// ```
/// use gatehouse::{Callbacks, Decision, SignInAttempt};
///
/// struct OnlyStaff;
///
/// impl Callbacks for OnlyStaff {
///     fn sign_in(&self, attempt: &SignInAttempt<'_>) -> Decision {
///         if attempt.email.ends_with("@staff.example.com") {
///             Decision::Allow
///         } else {
///             Decision::Deny("This site is for staff only.".into())
///         }
///     }
/// }
/// ```
pub trait Callbacks: Send + Sync + 'static {
    /// The sign-in gate. It runs on a blocking thread inside the sign-in's
    /// database transaction (a refusal rolls that transaction back), after
    /// gatehouse's own rules (ban, `GATEHOUSE_EMAIL_DOMAINS`, verification):
    /// a wrong password never reaches it. It may query the app's own
    /// database; it should be quick, since the sign-in waits for it.
    fn sign_in(&self, attempt: &SignInAttempt<'_>) -> Decision {
        let _ = attempt;
        Decision::Allow
    }

    /// Session enrichment: `Some(future)` adds app fields to this request's
    /// view of `session` (the one join's result). It is called at most once
    /// per request, and only by requests that read the session; what the
    /// future does is the cost (a query of the app's own is one more
    /// statement per signed-in request). `db` is gatehouse's pool, for apps
    /// that keep their tables beside gatehouse's (`db.run(…)` runs a closure
    /// on a blocking thread). `None` (the default) adds nothing.
    fn enrich_session(&self, session: &SignedIn, db: &Db) -> Option<Enrichment> {
        let _ = (session, db);
        None
    }

    /// An audited event, delivered after its transaction committed, on
    /// gatehouse's notification thread, in the order the events committed
    /// (per instance). Delivery is in-process and best-effort: a process that
    /// dies loses the ones not yet delivered; the audit log
    /// (`GET /api/admin/audit`) holds every event durably.
    fn event(&self, event: &Notification) {
        let _ = event;
    }
}

/// The callbacks the server binary runs with: none.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCallbacks;

impl Callbacks for NoCallbacks {}

/// The installed callbacks, shared by every worker ([`NoCallbacks`] unless
/// the app gave its own).
#[derive(Clone)]
pub struct Hooks(Arc<dyn Callbacks>);

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hooks")
    }
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks(Arc::new(NoCallbacks))
    }
}

impl Hooks {
    /// The app's `callbacks`.
    pub fn new(callbacks: Arc<dyn Callbacks>) -> Self {
        Hooks(callbacks)
    }

    /// The gate's decision on `attempt`.
    pub fn sign_in(&self, attempt: &SignInAttempt<'_>) -> Decision {
        self.0.sign_in(attempt)
    }

    /// The app's enrichment of `session`, if any.
    pub fn enrich(&self, session: &SignedIn, db: &Db) -> Option<Enrichment> {
        self.0.enrich_session(session, db)
    }
}
