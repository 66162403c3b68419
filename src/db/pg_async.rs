//! PostgreSQL session lookups without a thread hop. Each actix worker is a
//! single-threaded tokio runtime, so each keeps its own tokio-postgres
//! connection, with the session join prepared once; concurrent requests on a
//! worker pipeline on it. Anything unusual (not connected yet and the connection
//! fails, a lost connection, a TLS-only server) returns `Err`, and the caller
//! falls back to the pool on a blocking thread, which also decides 503.
//!
//! The SQL mirrors `session::find_session` (Diesel) column for column; every
//! PostgreSQL story in `tests/` runs through it.

use std::cell::RefCell;
use std::rc::Rc;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::StatementLog;
use crate::session::{Found, SessionRow, Standing, TokenHash};
use crate::users::UserRow;

pub const SESSION_JOIN: &str = "SELECT sessions.id, sessions.expires_at, sessions.impersonator_id, \
     sessions.authenticated_at, sessions.aal, users.id, users.email, users.name, users.image, users.role, users.permissions, \
     users.plan, users.plan_expires_at, users.theme, users.language, \
     users.email_verified_at, users.two_factor_at, users.banned_at, users.banned_until, \
     impersonator.role, impersonator.banned_at, impersonator.banned_until \
     FROM sessions INNER JOIN users ON users.id = sessions.user_id \
     LEFT JOIN users AS impersonator ON impersonator.id = sessions.impersonator_id \
     WHERE sessions.token_hash = $1";

struct Prepared {
    client: Client,
    session_join: Statement,
}

type Slot = Rc<OnceCell<Prepared>>;

/// After a failed connect, a worker waits this long before trying again (every
/// lookup meanwhile goes to the pool), so a server that refuses plain
/// connections does not cost a connect attempt per request.
const RETRY_AFTER: Duration = Duration::from_secs(10);

struct WorkerConnection {
    id: u64,
    slot: Slot,
    retry_at: Option<Instant>,
}

thread_local! {
    /// This worker's connection, per `AsyncPg` (tests run several apps).
    static CONNECTIONS: RefCell<Vec<WorkerConnection>> = const { RefCell::new(Vec::new()) };
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub struct AsyncPg {
    config: tokio_postgres::Config,
    id: u64,
    log: Option<Arc<StatementLog>>,
}

impl std::fmt::Debug for AsyncPg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AsyncPg")
    }
}

impl AsyncPg {
    /// `None` when the URL cannot be used without TLS (`sslmode=require`): the
    /// pool's libpq connections, which speak TLS, then serve every lookup.
    pub fn new(url: &str, log: Option<Arc<StatementLog>>) -> Option<Self> {
        let config = tokio_postgres::Config::from_str(url).ok()?;
        if config.get_ssl_mode() == SslMode::Require {
            return None;
        }
        Some(AsyncPg {
            config,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            log,
        })
    }

    /// This worker's connection slot, or `None` while a failed connect rests.
    fn slot(&self) -> Option<Slot> {
        CONNECTIONS.with(|c| {
            let mut c = c.borrow_mut();
            match c.iter_mut().find(|w| w.id == self.id) {
                Some(w) if w.retry_at.is_some_and(|at| Instant::now() < at) => None,
                Some(w) => {
                    w.retry_at = None;
                    Some(w.slot.clone())
                }
                None => {
                    let slot = Slot::default();
                    c.push(WorkerConnection {
                        id: self.id,
                        slot: slot.clone(),
                        retry_at: None,
                    });
                    Some(slot)
                }
            }
        })
    }

    /// Forgets this worker's connection; with `rest`, the next attempt waits.
    fn reset(&self, rest: bool) {
        CONNECTIONS.with(|c| {
            let mut c = c.borrow_mut();
            c.retain(|w| w.id != self.id);
            if rest {
                c.push(WorkerConnection {
                    id: self.id,
                    slot: Slot::default(),
                    retry_at: Some(Instant::now() + RETRY_AFTER),
                });
            }
        });
    }

    async fn connect(&self) -> Result<Prepared, tokio_postgres::Error> {
        let (client, connection) = self.config.connect(NoTls).await?;
        actix_web::rt::spawn(async move {
            if let Err(e) = connection.await {
                log::debug!("worker PostgreSQL connection ended: {e}");
            }
        });
        let session_join = client.prepare(SESSION_JOIN).await?;
        if let Some(log) = &self.log {
            log.prepared.fetch_add(1, Ordering::SeqCst);
        }
        Ok(Prepared {
            client,
            session_join,
        })
    }

    /// The session joined to its user, on this worker's connection.
    pub async fn find_session(&self, hash: &TokenHash) -> Result<Option<Found>, ()> {
        let slot = self.slot().ok_or(())?;
        let prepared = match slot.get_or_try_init(|| self.connect()).await {
            Ok(p) => p,
            Err(e) => {
                log::debug!("no worker PostgreSQL connection: {e}");
                self.reset(true);
                return Err(());
            }
        };
        if let Some(log) = &self.log {
            log.queries.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut t) = log.texts.lock() {
                t.insert(SESSION_JOIN.to_owned());
            }
        }
        match prepared
            .client
            .query_opt(&prepared.session_join, &[&hash.as_bytes()])
            .await
        {
            Ok(row) => row.map(rows).transpose().map_err(|e| {
                log::warn!("worker PostgreSQL lookup answered an unexpected row: {e}");
            }),
            Err(e) => {
                log::debug!("worker PostgreSQL lookup failed: {e}");
                self.reset(false);
                Err(())
            }
        }
    }
}

fn rows(row: Row) -> Result<Found, tokio_postgres::Error> {
    // The impersonator's role is NOT NULL: a null one means no joined row.
    let impersonator = row
        .try_get::<_, Option<String>>(19)?
        .map(|role| Ok::<_, tokio_postgres::Error>((role, row.try_get(20)?, row.try_get(21)?)))
        .transpose()?;
    Ok((
        SessionRow {
            id: row.try_get(0)?,
            expires_at: row.try_get(1)?,
            impersonator_id: row.try_get(2)?,
            authenticated_at: row.try_get(3)?,
            aal: row.try_get(4)?,
        },
        UserRow {
            id: row.try_get(5)?,
            email: row.try_get(6)?,
            name: row.try_get(7)?,
            image: row.try_get(8)?,
            role: row.try_get(9)?,
            permissions: row.try_get(10)?,
            plan: row.try_get(11)?,
            plan_expires_at: row.try_get(12)?,
            theme: row.try_get(13)?,
            language: row.try_get(14)?,
            email_verified_at: row.try_get(15)?,
            two_factor_at: row.try_get(16)?,
        },
        Standing {
            banned_at: row.try_get(17)?,
            banned_until: row.try_get(18)?,
            impersonator,
        },
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_urls_use_the_async_path_and_tls_only_urls_do_not() {
        assert!(super::AsyncPg::new("postgres://postgres@127.0.0.1:5432/gh", None).is_some());
        assert!(
            super::AsyncPg::new("postgresql://u:p@db.example/gh?sslmode=disable", None).is_some()
        );
        assert!(
            super::AsyncPg::new("postgres://u:p@db.example/gh?sslmode=require", None).is_none()
        );
    }
}
