//! gatehouse: sign-in and sessions for Actix apps, with the session in the
//! database. The cookie holds only an opaque token; every request reads the
//! session row and the user row again, in one join, so an edit, a ban or a
//! revoked session is what the very next request sees, on every device.
//! There is no token to refresh.
//!
//! gatehouse is a server (`cargo run --release`; see the README) and this
//! library, which the server is built on.
//!
//! # Add gatehouse to your app in five minutes
//!
//! **1. Depend on it** (`Cargo.toml`): `actix-web = "4"` and gatehouse from
//! its repository, `gatehouse = { git = "<this repository's URL>" }` (or a
//! `path` to a checkout). Its migrations are embedded: it needs no files.
//!
//! **2. Build it once, at start**, from the environment as the server reads
//! it (`DATABASE_URL`, default `sqlite://gatehouse.db`; `GATEHOUSE_URL`;
//! the README lists every variable). This opens the database, runs
//! gatehouse's migrations and loads (or creates) the secret:
//!
//! ```no_run
//! let gatehouse = gatehouse::Gatehouse::from_env()?.build()?;
//! # Ok::<(), String>(())
//! ```
//!
//! To keep gatehouse's pages out of your app's way, mount them under a
//! prefix: `Gatehouse::from_env()?.mount("/auth").build()?` serves
//! `/auth/signin`, `/auth/api/auth/session` and the rest, and every link,
//! redirect, OAuth callback and mail link it makes carries the prefix. The
//! session cookie stays at `Path=/`, so your routes see the session.
//!
//! **3. Wrap your `App`** with its middleware and mount its routes (sign-in,
//! sign-up, settings, admin, `/api/auth/*`). At the root, register your own
//! routes first where a path could clash (`/`):
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! # async fn index() -> &'static str { "" }
//! # fn main() -> std::io::Result<()> {
//! # let gatehouse = gatehouse::Gatehouse::from_env().and_then(|b| b.build()).map_err(std::io::Error::other)?;
//! actix_web::rt::System::new().block_on(
//!     HttpServer::new(move || {
//!         App::new()
//!             .wrap(gatehouse.middleware())
//!             .route("/", web::get().to(index))
//!             .configure(gatehouse.configure())
//!     })
//!     .bind("127.0.0.1:8080")?
//!     .run(),
//! )
//! # }
//! ```
//!
//! **4. Protect your handlers** with the extractors. Each reads the request's
//! one join; none makes a second query:
//!
//! ```
//! use gatehouse::{ApiUser, MaybeUser, PageUser, RequirePermission};
//!
//! gatehouse::permission!(ReportsRead = "reports:read");
//!
//! // Pages: anonymous visitors are sent to /signin and brought back.
//! async fn dashboard(user: PageUser) -> String {
//!     format!("Hello, {}", user.0.user.name)
//! }
//!
//! // JSON: 401 when anonymous.
//! async fn me(user: ApiUser) -> String {
//!     user.0.user.email
//! }
//!
//! // 401 anonymous, 403 without the permission (role or own grant).
//! async fn reports(_user: RequirePermission<ReportsRead>) -> &'static str {
//!     "…"
//! }
//!
//! // Either.
//! async fn home(viewer: MaybeUser) -> String {
//!     viewer.0.map_or("Hello, stranger".into(), |s| s.user.name)
//! }
//! # let _ = (dashboard, me, reports, home);
//! ```
//!
//! Every `POST`, `PUT`, `PATCH` and `DELETE` through the middleware needs
//! gatehouse's CSRF token: the `csrf_token` form field or the `X-CSRF-Token`
//! header (take it from the [`CsrfToken`] extractor, or
//! `GET /api/auth/csrf`).
//!
//! **5. Add callbacks** when you need them ([`Callbacks`], all optional): a
//! sign-in gate of your own rules, app fields in the session view, and
//! events (sign-up, sign-in, sign-out, user changed, ban…) after they
//! committed:
//!
//! ```no_run
//! use gatehouse::{Callbacks, Decision, EventKind, Notification, SignInAttempt};
//!
//! struct MyRules;
//!
//! impl Callbacks for MyRules {
//!     fn sign_in(&self, attempt: &SignInAttempt<'_>) -> Decision {
//!         if attempt.email.ends_with("@example.com") {
//!             Decision::Allow
//!         } else {
//!             Decision::Deny("Use your example.com address.".into())
//!         }
//!     }
//!
//!     fn event(&self, event: &Notification) {
//!         if event.kind == EventKind::SignUp {
//!             log::info!("welcome, user {:?}", event.user_id);
//!         }
//!     }
//! }
//!
//! let gatehouse = gatehouse::Gatehouse::from_env()?.callbacks(MyRules).build()?;
//! # Ok::<(), String>(())
//! ```
//!
//! When your own code changes a user's row (a plan, a name), call
//! [`Gatehouse::user_changed`] so pages open on that user's devices hear of
//! it (`GET /api/auth/events`); every new request sees it anyway.
//!
//! Two complete apps are in `examples/`: `team_app` (server-rendered pages
//! and a custom sign-in gate) and `json_api` (a JSON API on gatehouse's
//! sessions). `cargo run --example team_app`.
//!
//! # What the library promises
//!
//! The items at this crate's root are the public API, documented and
//! stable. The modules marked hidden are gatehouse's internals, public for
//! its own binary, tests and benchmarks; they change without notice.

#![deny(missing_docs)]

/// Unit tests that allocate megabytes (argon2, the User-Agent parser's tables)
/// take this, so the RSS test measures its own thread alone.
#[cfg(test)]
pub(crate) static MEMORY_HEAVY_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[doc(hidden)]
pub mod admin;
#[doc(hidden)]
pub mod assets;
#[doc(hidden)]
pub mod audit;
#[doc(hidden)]
pub mod auth;
#[doc(hidden)]
pub mod config;
#[doc(hidden)]
pub mod db;
#[doc(hidden)]
pub mod deadline;
#[doc(hidden)]
pub mod email;
#[doc(hidden)]
pub mod error;
#[doc(hidden)]
pub mod events;
#[doc(hidden)]
pub mod headers;
#[doc(hidden)]
pub mod healthcheck;
pub mod hooks;
#[doc(hidden)]
pub mod i18n;
pub mod library;
#[doc(hidden)]
pub mod logging;
#[doc(hidden)]
pub mod mail;
#[doc(hidden)]
pub mod metrics;
#[doc(hidden)]
pub mod oauth;
#[doc(hidden)]
pub mod passkeys;
#[doc(hidden)]
pub mod ratelimit;
#[doc(hidden)]
pub mod session;
#[doc(hidden)]
pub mod shutdown;
#[doc(hidden)]
pub mod sweeper;
#[doc(hidden)]
pub mod twofactor;
#[doc(hidden)]
pub mod users;
#[doc(hidden)]
pub mod web;

use std::net::TcpListener;

use actix_web::App;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderValue;

pub use crate::config::Config;
pub use crate::config::mount::MountPath;
pub use crate::error::AppError;
pub use crate::hooks::{
    AppFields, Callbacks, Decision, Enrichment, EventKind, Notification, SignInAttempt,
    SignInMethod,
};
pub use crate::library::extract::{
    AdminApi, AdminPage, ApiUser, CsrfToken, MaybeUser, PageUser, PageViewer, Permission,
    RequirePagePermission, RequirePermission, SignedIn, guard,
};
pub use crate::library::{Builder, Gatehouse, Middleware};
pub use crate::users::SessionUser;
pub(crate) use headers::WithHeaders;
#[doc(hidden)]
pub use headers::content_security_policy;

use crate::auth::keys::Keys;
use crate::db::Db;
use crate::session::ExpiryPolicy;
use crate::session::cookie::CookiePolicy;

/// Everything a request may need, built once at start.
#[derive(Debug)]
pub struct AppState {
    /// The configuration it was built from.
    pub config: Config,
    /// The database pool.
    pub db: Db,
    /// Keys derived from the secret (cookies, CSRF, sealed tokens).
    pub keys: Keys,
    /// The session and CSRF cookies' names and flags.
    pub cookies: CookiePolicy,
    /// `SESSION_MAX_AGE` and `SESSION_UPDATE_AGE`.
    pub expiry: ExpiryPolicy,
    /// Bounds concurrent password hashing (see `auth::limiter`).
    pub hasher: auth::limiter::HashLimiter,
    /// Prometheus metrics (off unless `GATEHOUSE_METRICS_ADDR` is set).
    pub metrics: metrics::Metrics,
    /// OAuth providers, the token cipher and the provider HTTP client.
    pub oauth: oauth::OAuth,
    /// Outgoing mail (password reset, verification, sign-in links).
    pub mailer: mail::Mailer,
    /// `scheme://host[:port]` of `GATEHOUSE_URL`, for the Origin check.
    pub public_origin: String,
    /// The pages' `Content-Security-Policy`: [`content_security_policy`] for
    /// the configured providers.
    pub csp: HeaderValue,
    /// Live updates: where handlers publish changes and event streams listen.
    pub events: events::Hub,
    /// The WebAuthn relying party (off when `GATEHOUSE_URL`'s host is an IP
    /// address).
    pub passkeys: passkeys::Passkeys,
    /// The embedding app's callbacks (none for the server).
    pub hooks: hooks::Hooks,
}

/// What start-up found worth telling the operator. `Debug` hides the setup
/// link's token.
#[derive(Default)]
pub struct Startup {
    /// How many migrations this start ran.
    pub migrations_run: usize,
    /// Whether the admin of `GATEHOUSE_ADMIN_EMAIL` was created now.
    pub admin_created: bool,
    /// The path of the one-time setup link, when no admin exists.
    pub setup_link: Option<String>,
    /// Stored emails the email rule folds together or refuses (reported, not changed).
    pub email_report: users::email::EmailReport,
}

impl std::fmt::Debug for Startup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Startup")
            .field("migrations_run", &self.migrations_run)
            .field("admin_created", &self.admin_created)
            .field("setup_link", &self.setup_link.as_ref().map(|_| "***"))
            .finish()
    }
}

impl AppState {
    /// Connects, migrates, loads or creates the secret, and makes sure an admin
    /// can exist. Blocking: call before the server starts.
    pub fn initialize(config: Config) -> Result<(Self, Startup), String> {
        Self::initialize_with(config, None)
    }

    /// [`AppState::initialize`] with an app's `callbacks`: its sign-in gate
    /// and enrichment hook, and a thread that hands it the audited events
    /// after commit.
    pub fn initialize_with(
        config: Config,
        callbacks: Option<std::sync::Arc<dyn hooks::Callbacks>>,
    ) -> Result<(Self, Startup), String> {
        let mut db = Db::connect_with_log(
            &config.database_url,
            config.pool_size,
            config.statement_log.clone(),
        )?;
        let hooks = match callbacks {
            Some(callbacks) => {
                let sink = hooks::notify::Sink::start(callbacks.clone())
                    .map_err(|e| format!("cannot start the event callback thread: {e}"))?;
                db.notify_to(sink);
                hooks::Hooks::new(callbacks)
            }
            None => hooks::Hooks::default(),
        };
        let (migrations_run, email_report) = {
            let mut conn = db.pool.get().map_err(|e| format!("database: {e}"))?;
            let ran = db::run_migrations(&mut conn)?;
            let report = users::email::check_and_remember(&mut conn, false)
                .map_err(|e| format!("cannot check stored emails: {e}"))?;
            (ran, report)
        };
        let (secret, previous) = auth::bootstrap::signing_secret(&db, &config)?;
        config.password_policy.warm_up();
        let admin_created =
            auth::bootstrap::ensure_configured_admin(&db, &config).map_err(|e| match e {
                // The password policy refused it (the admin did not exist yet).
                error::AppError::Invalid {
                    field: "password",
                    message,
                } => format!("GATEHOUSE_ADMIN_PASSWORD: {message}"),
                e => format!("GATEHOUSE_ADMIN_EMAIL: cannot create the admin: {e}"),
            })?;
        let setup_link = auth::bootstrap::issue_setup_link(&db)
            .map_err(|e| format!("cannot prepare the setup link: {e}"))?
            .map(|path| config.link(&path));
        let previous: Vec<&[u8]> = previous.iter().map(config::Secret::expose).collect();
        let keys = Keys::derive_with_previous(secret.expose(), &previous);
        let hasher = auth::limiter::HashLimiter::for_this_machine();
        let mailer = mail::Mailer::start(config.mail.clone());
        let events = events::Hub::start(
            &db,
            config.running.events_max_streams,
            config.running.events_backlog,
        );
        let metrics = match config.running.metrics_addr {
            Some(_) => {
                metrics::Metrics::on(db.clone(), hasher.stats(), mailer.clone(), events.clone())
            }
            None => metrics::Metrics::off(),
        };
        let passkeys = passkeys::Passkeys::new(&config.passkeys)?;
        if let config::webauthn::RelyingParty::Off { reason } = &config.passkeys {
            log::info!("{reason}");
        }
        let csp = content_security_policy(&oauth::form_action_origins(&config.providers));
        let state = AppState {
            csp,
            oauth: oauth::OAuth::new(
                config.providers.clone(),
                oauth::crypto::TokenCipher::with_previous(
                    &keys.provider_tokens,
                    &keys.previous_provider_tokens(),
                ),
                &config.mounted_url(),
                config.oauth_timeout,
            ),
            keys,
            cookies: CookiePolicy::new(config.is_https(), config.session_max_age),
            expiry: ExpiryPolicy {
                max_age: config.session_max_age,
                update_age: config.session_update_age,
            },
            public_origin: config.public_origin(),
            events,
            passkeys,
            hooks,
            hasher,
            metrics,
            mailer,
            db,
            config,
        };
        Ok((
            state,
            Startup {
                migrations_run,
                admin_created,
                setup_link,
                email_report,
            },
        ))
    }
}

impl AppState {
    /// What a proven identity must pass to get a session: the domain
    /// allow-list and the app's gate.
    pub fn sign_in_rules(&self) -> auth::gate::Rules {
        auth::gate::Rules {
            domains: self.config.email_domains.clone(),
            hooks: self.hooks.clone(),
        }
    }
}

/// The whole application, as `main`, the tests and embedders run it.
pub fn build_app(
    state: actix_web::web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let gatehouse = Gatehouse::from_state(state);
    App::new()
        .wrap(gatehouse.middleware())
        .configure(gatehouse.configure())
}

/// Serves the app on `listener` with `workers` threads (0: one per core):
/// [`Gatehouse::serve`] of a state built elsewhere.
pub fn serve(state: AppState, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    Gatehouse::from_state(actix_web::web::Data::new(state)).serve(listener, workers)
}

#[cfg(test)]
mod tests {
    #[test]
    fn startup_debug_hides_the_setup_token() {
        let s = super::Startup {
            setup_link: Some("http://x/setup?token=the-setup-token-value".into()),
            ..Default::default()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("the-setup-token-value"), "{shown}");
    }
}
