//! gatehouse as a library: [`Gatehouse`], built from a [`Config`], gives an
//! Actix app the middleware, the routes and the shared state; the server
//! binary is built on it too (`src/main.rs`).

pub mod extract;
pub mod middleware;

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::web::{Data, ServiceConfig};
use actix_web::{FromRequest, HttpRequest};

use crate::config::Config;
use crate::error::AppError;
use crate::hooks::Callbacks;
use crate::{AppState, Startup};

pub use middleware::Middleware;

/// gatehouse, ready to serve: the database is open and migrated, the secret
/// loaded. Cheap to clone (it shares one state); every worker's `App` takes
/// [`Gatehouse::middleware`] and [`Gatehouse::configure`].
///
/// In a handler, `Gatehouse` is also an extractor, for
/// [`Gatehouse::user_changed`].
#[derive(Clone)]
pub struct Gatehouse {
    state: Data<AppState>,
}

impl std::fmt::Debug for Gatehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gatehouse").finish_non_exhaustive()
    }
}

/// How to build a [`Gatehouse`]: from [`Gatehouse::builder`] or
/// [`Gatehouse::from_env`].
#[must_use]
pub struct Builder {
    config: Config,
    callbacks: Option<Arc<dyn Callbacks>>,
    mount_error: Option<String>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("callbacks", &self.callbacks.is_some())
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// The app's callbacks: sign-in gate, session enrichment, events.
    pub fn callbacks(mut self, callbacks: impl Callbacks) -> Self {
        self.callbacks = Some(Arc::new(callbacks));
        self
    }

    /// Mounts gatehouse's routes under `prefix` (`/auth`) instead of the
    /// site root: its pages, `/api/auth/*`, `/static/*` and every URL it
    /// makes (links, redirects, OAuth callbacks, mail links) carry it. A
    /// prefix that is not a plain absolute path fails the build.
    pub fn mount(mut self, prefix: &str) -> Self {
        match crate::config::MountPath::parse(prefix) {
            Ok(m) => self.config.mount = m,
            Err(e) => self.mount_error = Some(format!("mount path {prefix:?}: {e}")),
        }
        self
    }

    /// Changes the configuration before the build (a field the environment
    /// does not set, a test's database).
    pub fn config(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(&mut self.config);
        self
    }

    /// Connects to the database, runs the migrations, loads (or creates) the
    /// secret and makes sure an admin can exist. Blocking: call it before
    /// the server starts, not on an async worker. The error is one line for
    /// the operator.
    pub fn build(self) -> Result<Gatehouse, String> {
        self.build_with_startup().map(|(g, _)| g)
    }

    /// [`Builder::build`], with what start-up found worth telling the
    /// operator (migrations run, the one-time setup link).
    pub fn build_with_startup(self) -> Result<(Gatehouse, Startup), String> {
        if let Some(e) = self.mount_error {
            return Err(e);
        }
        let (state, startup) = AppState::initialize_with(self.config, self.callbacks)?;
        Ok((Gatehouse::from_state(Data::new(state)), startup))
    }
}

impl Gatehouse {
    /// A builder from `config`.
    pub fn builder(config: Config) -> Builder {
        Builder {
            config,
            callbacks: None,
            mount_error: None,
        }
    }

    /// A builder from the environment, as the server reads it (`.env` is
    /// the caller's to load). The error names the variable that is wrong.
    pub fn from_env() -> Result<Builder, String> {
        Config::from_env()
            .map(Self::builder)
            .map_err(|e| e.to_string())
    }

    /// gatehouse around a state built elsewhere (the tests' harness).
    pub fn from_state(state: Data<AppState>) -> Self {
        Gatehouse { state }
    }

    /// The middleware for the app: `App::new().wrap(gatehouse.middleware())`.
    /// Without it neither gatehouse's routes nor the extractors work.
    pub fn middleware(&self) -> Middleware {
        Middleware::new(self.state.clone())
    }

    /// Mounts gatehouse's routes (pages, `/api/auth/*`, `/api/admin/*`,
    /// `/static/*`, `/healthz`): `App::new().configure(gatehouse.configure())`.
    /// They go under `config.mount` (see the README's "Mounting under a
    /// prefix"), at the site root by default.
    pub fn configure(&self) -> impl Fn(&mut ServiceConfig) + Clone + 'static {
        let mount = self.state.config.mount.clone();
        move |cfg: &mut ServiceConfig| crate::web::routes_at(&mount)(cfg)
    }

    /// The shared state, for what the library does not wrap (the database
    /// pool, the configuration).
    pub fn state(&self) -> &Data<AppState> {
        &self.state
    }

    /// The database pool gatehouse uses: `db.run(|conn| …)` runs a closure
    /// with a connection on a blocking thread.
    pub fn db(&self) -> &crate::db::Db {
        &self.state.db
    }

    /// Tells gatehouse that the app changed a user's row itself (a plan, a
    /// name, a ban written by its own code): the user's live event streams
    /// (`GET /api/auth/events`) send the fresh session, on every instance.
    /// Call it after the change committed. Every request sees the change
    /// anyway: this is for pages already open.
    pub async fn user_changed(&self, user_id: i64) {
        self.state.events.user_changed(user_id).await;
    }

    /// Tells gatehouse that the app ended sessions of `user_id` itself (it
    /// deleted their rows): their streams end with `signout`.
    pub async fn sessions_ended(&self, user_id: i64) {
        self.state
            .events
            .sessions_of_ended(user_id, crate::events::Reason::Revoked)
            .await;
    }
}

impl Gatehouse {
    /// gatehouse on its own, as the server binary runs it: its routes at
    /// the root, on `listener` with `workers` threads (0: one per core),
    /// with the request timeout, keep-alive and connection limit of the
    /// configuration. Signals are not watched here (see
    /// [`crate::shutdown`]); a graceful stop through the server's handle
    /// gives requests in flight `GATEHOUSE_SHUTDOWN_TIMEOUT`.
    pub fn serve(
        &self,
        listener: std::net::TcpListener,
        workers: usize,
    ) -> std::io::Result<actix_web::dev::Server> {
        let running = self.state.config.running.clone();
        let workers = match workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        // GATEHOUSE_MAX_CONNECTIONS is for the instance; actix counts per worker.
        let per_worker = running.max_connections.div_ceil(workers);
        let keep_alive = match running.keep_alive {
            d if d.is_zero() => actix_web::http::KeepAlive::Disabled,
            d => actix_web::http::KeepAlive::Timeout(d),
        };
        let gatehouse = self.clone();
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .wrap(gatehouse.middleware())
                .configure(gatehouse.configure())
        })
        .disable_signals()
        .shutdown_timeout(running.shutdown_timeout.as_secs())
        .workers(workers)
        .client_request_timeout(running.request_timeout)
        .keep_alive(keep_alive)
        .max_connections(per_worker);
        Ok(server.listen(listener)?.run())
    }
}

impl FromRequest for Gatehouse {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.app_data::<Data<AppState>>()
                .map(|s| Gatehouse::from_state(s.clone()))
                .ok_or_else(|| {
                    AppError::Internal("gatehouse's middleware is not installed".into())
                }),
        )
    }
}
