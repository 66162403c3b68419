//! gatehouse: a sign-in and session server whose sessions live in the database.
//! The cookie holds an opaque token; every request reads the session row and the
//! user row again (one join), so a change to a user is what the next request sees.

/// Unit tests that allocate megabytes (argon2, the User-Agent parser's tables)
/// take this, so the RSS test measures its own thread alone.
#[cfg(test)]
pub(crate) static MEMORY_HEAVY_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub mod admin;
pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod healthcheck;
pub mod oauth;
pub mod ratelimit;
pub mod session;
pub mod users;
pub mod web;

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, Logger, from_fn};
use actix_web::{App, HttpServer};

use crate::auth::keys::Keys;
use crate::config::Config;
use crate::db::Db;
use crate::session::ExpiryPolicy;
use crate::session::cookie::CookiePolicy;
use crate::session::store::DieselSessionStore;

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
    /// OAuth providers, the token cipher and the provider HTTP client.
    pub oauth: oauth::OAuth,
    /// `scheme://host[:port]` of `GATEHOUSE_URL`, for the Origin check.
    pub public_origin: String,
}

/// What start-up found worth telling the operator.
#[derive(Debug, Default)]
pub struct Startup {
    pub migrations_run: usize,
    pub admin_created: bool,
    /// The path of the one-time setup link, when no admin exists.
    pub setup_link: Option<String>,
}

impl AppState {
    /// Connects, migrates, loads or creates the secret, and makes sure an admin
    /// can exist. Blocking: call before the server starts.
    pub fn initialize(config: Config) -> Result<(Self, Startup), String> {
        let db = Db::connect_with_log(
            &config.database_url,
            config.pool_size,
            config.statement_log.clone(),
        )?;
        let migrations_run = {
            let mut conn = db.pool.get().map_err(|e| format!("database: {e}"))?;
            db::run_migrations(&mut conn)?
        };
        let secret = auth::bootstrap::signing_secret(&db, &config)
            .map_err(|e| format!("cannot load the signing secret: {e}"))?;
        let admin_created = auth::bootstrap::ensure_configured_admin(&db, &config)
            .map_err(|e| format!("GATEHOUSE_ADMIN_EMAIL: cannot create the admin: {e}"))?;
        let setup_link = auth::bootstrap::issue_setup_link(&db)
            .map_err(|e| format!("cannot prepare the setup link: {e}"))?
            .map(|path| {
                format!(
                    "{}{}",
                    config.public_url.as_str().trim_end_matches('/'),
                    path
                )
            });
        let keys = Keys::derive(secret.expose());
        let state = AppState {
            oauth: oauth::OAuth::new(
                config.providers.clone(),
                &keys.provider_tokens,
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
            hasher: auth::limiter::HashLimiter::for_this_machine(),
            db,
            config,
        };
        Ok((
            state,
            Startup {
                migrations_run,
                admin_created,
                setup_link,
            },
        ))
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
    let store = DieselSessionStore::new(state.db.clone(), state.expiry);
    let sessions = state
        .cookies
        .session_middleware(store, state.keys.session_cookie.clone());
    let cookie_policy = actix_web::web::Data::new(state.cookies.clone());
    App::new()
        .app_data(state.clone())
        .app_data(cookie_policy)
        .configure(web::routes)
        // Innermost first: upkeep sees the handler's session changes before the
        // session middleware writes them.
        .wrap(from_fn(session::cookie::session_upkeep))
        .wrap(sessions)
        .wrap(from_fn(session::cookie::store_failures_unavailable))
        .wrap(from_fn(auth::csrf::csrf_guard))
        .wrap(
            DefaultHeaders::new()
                .add(("Cache-Control", "no-store"))
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("X-Frame-Options", "DENY"))
                .add(("Referrer-Policy", "same-origin"))
                .add((
                    "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' https: http: data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
                )),
        )
        // Paths only: a query string may carry a setup token.
        .wrap(Logger::new("%a \"%{method}xi %U\" %s %b %Dms").custom_request_replace(
            "method",
            |req| req.method().to_string(),
        ))
}

/// Serves the app on `listener` with `workers` threads (0: one per core).
pub fn serve(state: AppState, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    let state = actix_web::web::Data::new(state);
    let mut server = HttpServer::new(move || build_app(state.clone()));
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
}
