//! The backend choice, in one place: the connection type over SQLite and
//! PostgreSQL, the pool (with SQLite's per-connection pragmas beside it), and the
//! embedded migrations of each backend.

pub mod schema;

use std::fmt;
use std::time::Duration;

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

/// Opens connections for the pool. The backend comes from the URL's scheme, never
/// from trying one driver after another (SQLite would happily create a file named
/// after a PostgreSQL URL that is down).
pub struct Manager {
    url: DatabaseUrl,
}

impl Manager {
    fn connect(&self) -> ConnectionResult<DbConn> {
        match self.url.backend {
            Backend::Postgres => PgConnection::establish(&self.url.target).map(DbConn::Postgres),
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
                Ok(DbConn::Sqlite(conn))
            }
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

/// The pool and what it connects to.
#[derive(Clone)]
pub struct Db {
    pub pool: Pool,
    pub url: DatabaseUrl,
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
        let pool = r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(3))
            .test_on_check_out(false)
            .build(Manager { url: url.clone() })
            .map_err(|e| format!("cannot connect to the database {url:?}: {e}"))?;
        Ok(Self {
            pool,
            url: url.clone(),
        })
    }

    pub fn get(&self) -> Result<PooledConn, crate::error::AppError> {
        self.pool.get().map_err(|e| {
            log::warn!("database unavailable: {e}");
            crate::error::AppError::Unavailable
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
