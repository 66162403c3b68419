//! The backend choice, in one place: the connection type over SQLite and
//! PostgreSQL, the pool (with SQLite's per-connection pragmas beside it), and the
//! embedded migrations of each backend.

pub mod backup;
pub mod hold;
pub mod pg_async;
pub mod restore;
pub mod schema;
mod write_transaction;

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever backend `DATABASE_URL` names. Queries written with
/// Diesel's DSL run on either; the few whose SQL differs `match` on the variant.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed `DATABASE_URL`. `Debug` never prints a PostgreSQL password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub backend: Backend,
    /// What the driver is given: a file path for SQLite, the URL for PostgreSQL.
    target: String,
}

impl DatabaseUrl {
    /// `sqlite://PATH`, `sqlite:PATH` or a bare path is SQLite;
    /// `postgres://…` or `postgresql://…` is PostgreSQL.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("is empty".into());
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            url::Url::parse(raw).map_err(|e| format!("is not a valid PostgreSQL URL ({e})"))?;
            return Ok(Self {
                backend: Backend::Postgres,
                target: raw.to_owned(),
            });
        }
        if raw.starts_with("mysql://") {
            return Err(
                "names MySQL, which this build does not support (use sqlite:// or postgres://)"
                    .into(),
            );
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.is_empty() {
            return Err("names no SQLite file".into());
        }
        if path.contains("://") {
            return Err("has an unknown scheme (use sqlite:// or postgres://)".into());
        }
        Ok(Self {
            backend: Backend::Sqlite,
            target: path.to_owned(),
        })
    }

    pub fn target(&self) -> &str {
        &self.target
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            Backend::Sqlite => write!(f, "sqlite://{}", self.target),
            Backend::Postgres => match url::Url::parse(&self.target) {
                Ok(mut u) => {
                    if u.password().is_some() {
                        let _ = u.set_password(Some("***"));
                    }
                    write!(f, "{u}")
                }
                Err(_) => f.write_str("postgres://***"),
            },
        }
    }
}

thread_local! {
    /// Set when a query on this thread failed because the connection is gone. A
    /// pooled connection goes back to the pool on the thread that used it, right
    /// after the error, and is then dropped instead of reused; so the pool heals
    /// once the database is back, without a ping before every checkout.
    static DISCARD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the connection this thread is using as not worth reusing.
pub fn discard_current_connection() {
    DISCARD.with(|d| d.set(true));
}

/// Counts what a pool's connections send: statements, writes among them, and
/// statements prepared (Diesel's cache misses). For tests and diagnostics.
#[derive(Debug, Default)]
pub struct StatementLog {
    pub queries: AtomicU64,
    pub writes: AtomicU64,
    pub prepared: AtomicU64,
    /// The distinct SQL texts sent since the last reset.
    pub texts: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// Tests: hold a chosen statement after it ran (see [`hold`]).
    pub hold: hold::Hold,
}

impl StatementLog {
    pub fn reset(&self) {
        for c in [&self.queries, &self.writes, &self.prepared] {
            c.store(0, Ordering::SeqCst);
        }
        if let Ok(mut t) = self.texts.lock() {
            t.clear();
        }
    }
}

struct Counting(Arc<StatementLog>);

impl Instrumentation for Counting {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                self.0.queries.fetch_add(1, Ordering::SeqCst);
                let text = query.to_string();
                let sql = text.trim_start().to_ascii_uppercase();
                if ["INSERT", "UPDATE", "DELETE", "REPLACE"]
                    .iter()
                    .any(|w| sql.starts_with(w))
                {
                    self.0.writes.fetch_add(1, Ordering::SeqCst);
                }
                if let Ok(mut t) = self.0.texts.lock() {
                    // Without the bind values diesel appends after `-- binds:`.
                    let sql = text.split("-- binds:").next().unwrap_or("").trim();
                    t.insert(sql.to_owned());
                }
            }
            InstrumentationEvent::CacheQuery { .. } => {
                self.0.prepared.fetch_add(1, Ordering::SeqCst);
            }
            InstrumentationEvent::FinishQuery {
                query, error: None, ..
            } => {
                self.0.hold.after(query);
            }
            _ => {}
        }
    }
}

/// Opens connections for the pool. The backend comes from the URL's scheme, never
/// from trying one driver after another (SQLite would happily create a file named
/// after a PostgreSQL URL that is down).
#[derive(Clone)]
pub struct Manager {
    url: DatabaseUrl,
    log: Option<Arc<StatementLog>>,
}

impl Manager {
    fn connect(&self) -> ConnectionResult<DbConn> {
        let mut conn = match self.url.backend {
            Backend::Postgres => DbConn::Postgres(PgConnection::establish(&self.url.target)?),
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url.target)?;
                // Every connection: wait for locks instead of failing, enforce foreign
                // keys; WAL lets readers run beside the one writer.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000;
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;",
                )
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                DbConn::Sqlite(conn)
            }
        };
        self.instrument(&mut conn);
        Ok(conn)
    }

    /// A read-only SQLite connection for one worker thread: it never takes the
    /// write lock and never waits for one (busy_timeout 0: a busy database makes
    /// the caller fall back to the pool on a blocking thread).
    fn connect_reader(&self) -> ConnectionResult<DbConn> {
        let mut conn = SqliteConnection::establish(&self.url.target)?;
        conn.batch_execute("PRAGMA busy_timeout = 0; PRAGMA query_only = 1;")
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        let mut conn = DbConn::Sqlite(conn);
        self.instrument(&mut conn);
        Ok(conn)
    }

    fn instrument(&self, conn: &mut DbConn) {
        if let Some(log) = &self.log {
            conn.set_instrumentation(Counting(log.clone()));
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        Manager::connect(self).map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        DISCARD.with(|d| d.replace(false)) || std::thread::panicking() || conn.is_broken()
    }
}

thread_local! {
    /// Each worker thread's read-only SQLite connections, one per `Db` (several
    /// apps may share a process in tests).
    static READERS: RefCell<Vec<(u64, DbConn)>> = const { RefCell::new(Vec::new()) };
}

static NEXT_DB_ID: AtomicU64 = AtomicU64::new(1);

/// How long a checkout waits for a free connection (less when the request's
/// deadline comes sooner).
const POOL_WAIT: Duration = Duration::from_secs(3);

/// The pool and what it connects to.
#[derive(Clone)]
pub struct Db {
    pub pool: Pool,
    pub url: DatabaseUrl,
    id: u64,
    manager: Manager,
    /// PostgreSQL: per-worker async connections for the session lookup.
    pub async_pg: Option<Arc<pg_async::AsyncPg>>,
    /// Where the audit events of this pool's connections are announced
    /// (the app's event callback), if anywhere.
    events: Option<crate::hooks::notify::Sink>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("url", &self.url).finish()
    }
}

impl Db {
    /// Builds the pool. It opens one connection up front (so a wrong URL fails at
    /// start) and opens the rest on demand.
    pub fn connect(url: &DatabaseUrl, max_size: u32) -> Result<Self, String> {
        Self::connect_with_log(url, max_size, None)
    }

    /// One connection for a one-shot command (`migrate`, `user add`, `sessions
    /// sweep`): opened when first needed and never replenished in the
    /// background. A pool that keeps one idle connection opens a new one on its
    /// own thread after each checkout, and a process that exits during that
    /// connect crashes in libpq's TLS teardown (seen: SIGSEGV after `sessions
    /// sweep` had printed its answer).
    pub fn connect_once(url: &DatabaseUrl) -> Result<Self, String> {
        Self::open(url, 1, Some(0), None)
    }

    /// As [`connect`](Self::connect), counting every statement into `log`.
    pub fn connect_with_log(
        url: &DatabaseUrl,
        max_size: u32,
        log: Option<Arc<StatementLog>>,
    ) -> Result<Self, String> {
        Self::open(url, max_size, Some(1), log)
    }

    fn open(
        url: &DatabaseUrl,
        max_size: u32,
        min_idle: Option<u32>,
        log: Option<Arc<StatementLog>>,
    ) -> Result<Self, String> {
        let manager = Manager {
            url: url.clone(),
            log,
        };
        let pool = r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(min_idle)
            .connection_timeout(POOL_WAIT)
            .test_on_check_out(false)
            .build(manager.clone())
            .map_err(|e| format!("cannot connect to the database {url:?}: {e}"))?;
        let async_pg = match url.backend {
            Backend::Postgres => {
                pg_async::AsyncPg::new(&url.target, manager.log.clone()).map(Arc::new)
            }
            Backend::Sqlite => None,
        };
        Ok(Self {
            pool,
            url: url.clone(),
            id: NEXT_DB_ID.fetch_add(1, Ordering::Relaxed),
            manager,
            async_pg,
            events: None,
        })
    }

    /// Announces the audit events of this pool's connections to `sink`
    /// once committed (see [`crate::hooks::notify`]). Call before cloning.
    pub fn notify_to(&mut self, sink: crate::hooks::notify::Sink) {
        self.events = Some(sink);
    }

    /// Runs `work` with a pooled connection on a blocking thread, off the
    /// async workers, under the request's deadline (see [`crate::deadline`]):
    /// work whose request has already been answered `503` never starts.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut DbConn) -> Result<T, crate::error::AppError> + Send + 'static,
    ) -> Result<T, crate::error::AppError> {
        let db = self.clone();
        let deadline = crate::deadline::current();
        actix_web::web::block(move || {
            crate::deadline::within(deadline, || {
                if crate::deadline::passed() {
                    return Err(crate::error::AppError::Unavailable);
                }
                work(&mut *db.get()?)
            })
        })
        .await?
    }

    /// A connection outside the pool, closed when dropped (the sweeper holds
    /// its PostgreSQL advisory lock on one, so closing it releases the lock).
    pub fn dedicated(&self) -> ConnectionResult<DbConn> {
        self.manager.connect()
    }

    pub fn get(&self) -> Result<PooledConn, crate::error::AppError> {
        crate::hooks::notify::checkout(self.events.as_ref());
        // A request waits for a connection only until its deadline.
        let wait = match crate::deadline::current() {
            Some(d) => d
                .saturating_duration_since(std::time::Instant::now())
                .min(POOL_WAIT),
            None => POOL_WAIT,
        };
        self.pool.get_timeout(wait).map_err(|e| {
            log::warn!("database unavailable: {e}");
            crate::error::AppError::Unavailable
        })
    }

    /// Runs a read on this thread's own read-only SQLite connection, without a
    /// hop to a blocking thread: an in-process point read is cheaper than the hop
    /// and cannot wait on a lock. `None` means "use the pool instead": not SQLite,
    /// the reader could not be opened, or the database was busy.
    pub fn read_inline<T>(&self, read: impl FnOnce(&mut DbConn) -> QueryResult<T>) -> Option<T> {
        if self.url.backend != Backend::Sqlite {
            return None;
        }
        READERS.with(|readers| {
            let mut readers = readers.try_borrow_mut().ok()?;
            let index = match readers.iter().position(|(id, _)| *id == self.id) {
                Some(i) => i,
                None => {
                    let conn = self.manager.connect_reader().ok()?;
                    readers.push((self.id, conn));
                    readers.len() - 1
                }
            };
            match read(&mut readers[index].1) {
                Ok(value) => Some(value),
                Err(_) => {
                    // Busy or broken: the pool answers this time; a fresh reader next.
                    readers.swap_remove(index);
                    None
                }
            }
        })
    }
}

/// Runs the pending migrations of the connection's backend; returns how many ran.
pub fn run_migrations(conn: &mut DbConn) -> Result<usize, String> {
    let ran = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConn::Postgres(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    ran.map_err(|e| format!("migrations failed: {e}"))
}

/// Reads a row of the `settings` table.
pub fn get_setting(conn: &mut DbConn, key: &str) -> QueryResult<Option<String>> {
    use schema::settings::dsl as s;
    s::settings
        .filter(s::key.eq(key))
        .select(s::value)
        .first(conn)
        .optional()
}

/// Stores `value` under `key` unless the key already has one; answers the value
/// that is stored afterwards (so two instances starting at once agree).
pub fn insert_setting_once(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<String> {
    use schema::settings::dsl as s;
    let insert = diesel::insert_into(s::settings).values((s::key.eq(key), s::value.eq(value)));
    match conn {
        DbConn::Sqlite(c) => insert.on_conflict_do_nothing().execute(c)?,
        DbConn::Postgres(c) => insert.on_conflict_do_nothing().execute(c)?,
    };
    get_setting(conn, key)?.ok_or(diesel::result::Error::NotFound)
}

/// Sets `key` to `value`, replacing what was there.
pub fn put_setting(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<()> {
    use schema::settings::dsl as s;
    let insert = diesel::insert_into(s::settings).values((s::key.eq(key), s::value.eq(value)));
    match conn {
        DbConn::Sqlite(c) => insert
            .on_conflict(s::key)
            .do_update()
            .set(s::value.eq(value))
            .execute(c)?,
        DbConn::Postgres(c) => insert
            .on_conflict(s::key)
            .do_update()
            .set(s::value.eq(value))
            .execute(c)?,
    };
    Ok(())
}

/// Deletes `key`; answers whether it was there.
pub fn delete_setting(conn: &mut DbConn, key: &str) -> QueryResult<bool> {
    use schema::settings::dsl as s;
    Ok(diesel::delete(s::settings.filter(s::key.eq(key))).execute(conn)? == 1)
}
