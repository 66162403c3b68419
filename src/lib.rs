//! gatehouse: a sign-in and session server whose sessions live in the database.
//! The cookie holds an opaque token; every request reads the session row and the
//! user row again (one join), so a change to a user is what the next request sees.

/// Unit tests that allocate megabytes (argon2, the User-Agent parser's tables)
/// take this, so the RSS test measures its own thread alone.
#[cfg(test)]
pub(crate) static MEMORY_HEAVY_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub mod admin;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod email;
pub mod error;
pub mod events;
pub mod healthcheck;
pub mod hooks;
pub mod i18n;
pub mod library;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod oauth;
pub mod passkeys;
pub mod ratelimit;
pub mod session;
pub mod shutdown;
pub mod sweeper;
pub mod twofactor;
pub mod users;
pub mod web;

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{App, HttpResponse, ResponseError};

pub use crate::config::Config;
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

use crate::auth::keys::Keys;
use crate::db::Db;
use crate::session::ExpiryPolicy;
use crate::session::cookie::CookiePolicy;

/// Everything a request may need, built once at start.
#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub keys: Keys,
    pub cookies: CookiePolicy,
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
    pub migrations_run: usize,
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
            .map(|path| {
                format!(
                    "{}{}",
                    config.public_url.as_str().trim_end_matches('/'),
                    path
                )
            });
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
                &config.public_url,
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

/// What every answer carries, unless the handler set the header itself (the
/// static assets' `Cache-Control`); and the `Content-Security-Policy`.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
];

/// The pages' policy. A form may post to this site only, and a form's
/// redirect may lead only to this site or to `form_targets` (the origins of
/// the providers' authorization endpoints: the provider buttons post to
/// `/api/auth/signin/…`, which answers `303` to the provider, and browsers
/// check `form-action` on that redirect too).
pub fn content_security_policy(form_targets: &[String]) -> HeaderValue {
    let mut form_action = String::from("'self'");
    for origin in form_targets {
        form_action.push(' ');
        form_action.push_str(origin);
    }
    HeaderValue::from_str(&format!(
        "default-src 'self'; img-src 'self' https: http: data:; frame-ancestors 'none'; \
         form-action {form_action}; base-uri 'none'"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(STRICT_CSP))
}

/// The policy with no provider origin (and where no app state is at hand).
const STRICT_CSP: &str = "default-src 'self'; img-src 'self' https: http: data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

fn add_security_headers(headers: &mut HeaderMap, csp: &HeaderValue) {
    for (name, value) in SECURITY_HEADERS {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if !headers.contains_key(actix_web::http::header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            actix_web::http::header::CONTENT_SECURITY_POLICY,
            csp.clone(),
        );
    }
}

/// Outermost but for the log: every answer gets [`SECURITY_HEADERS`]. An error
/// raised by a middleware (CSRF, the body cap, the session store, a rate limit)
/// is an `Err` that skips the usual response path; it is wrapped so that the
/// response it becomes carries the headers too.
pub(crate) async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let csp = req
        .app_data::<actix_web::web::Data<AppState>>()
        .map(|s| s.csp.clone())
        .unwrap_or_else(|| HeaderValue::from_static(STRICT_CSP));
    match next.call(req).await {
        Ok(mut res) => {
            add_security_headers(res.headers_mut(), &csp);
            Ok(res)
        }
        Err(e) => {
            Err(WithHeaders(e, move |h: &mut HeaderMap| add_security_headers(h, &csp)).into())
        }
    }
}

/// A middleware's error, answered as it would be, with `add` applied to the
/// headers of the response it becomes.
pub(crate) struct WithHeaders<F: Fn(&mut HeaderMap)>(pub actix_web::Error, pub F);

impl<F: Fn(&mut HeaderMap)> std::fmt::Debug for WithHeaders<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl<F: Fn(&mut HeaderMap)> std::fmt::Display for WithHeaders<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl<F: Fn(&mut HeaderMap) + 'static> ResponseError for WithHeaders<F> {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.0.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = self.0.error_response();
        (self.1)(res.headers_mut());
        res
    }
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
