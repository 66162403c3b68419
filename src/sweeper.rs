//! The background sweeper (`SWEEP_INTERVAL`): deletes expired sessions, OAuth
//! sign-ins and passkey ceremonies that were never finished, mailed links past their expiry, and
//! rate-limit counters whose window is long over. Nothing a request needs is swept: every read already ignores
//! expired rows, so the sweeper only keeps the tables small.
//!
//! It runs on its own thread (never an async worker), deletes in batches of
//! [`BATCH`] rows, each its own short statement, so page views and sign-ins
//! interleave with a large sweep instead of waiting behind one long write. On
//! PostgreSQL, instances take turns through an advisory lock held on a
//! connection of its own: the instance that gets it sweeps, the others skip
//! that round. Closing that connection releases the lock, whatever happened.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Timestamp};
use rand::Rng;

use crate::db::{Db, DbConn};
use crate::metrics::Metrics;
use crate::ratelimit::Limits;

/// Rows deleted per statement.
pub const BATCH: i64 = 1_000;

/// The PostgreSQL advisory-lock key whose holder sweeps ("gh-sweep").
pub const LOCK_KEY: i64 = 0x6768_2d73_7765_6570;

/// What one sweep deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub sessions: usize,
    pub oauth_states: usize,
    pub rate_limits: usize,
    /// Expired links from `email_tokens` (reset, verification, …).
    pub email_tokens: usize,
    /// Sign-ins that waited for a second factor past their five minutes.
    pub pending_signins: usize,
    /// Passkey ceremonies never finished (`webauthn_challenges`).
    pub webauthn_challenges: usize,
}

impl Swept {
    pub fn total(&self) -> usize {
        self.sessions
            + self.oauth_states
            + self.rate_limits
            + self.email_tokens
            + self.pending_signins
            + self.webauthn_challenges
    }

    /// `(kind, rows)` pairs, for logs and metrics.
    pub fn by_kind(&self) -> [(&'static str, usize); 6] {
        [
            ("sessions", self.sessions),
            ("oauth_states", self.oauth_states),
            ("rate_limits", self.rate_limits),
            ("email_tokens", self.email_tokens),
            ("pending_signins", self.pending_signins),
            ("webauthn_challenges", self.webauthn_challenges),
        ]
    }
}

/// How a sweep ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Swept(Swept),
    /// Another instance holds the sweeper's turn (PostgreSQL).
    Skipped,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// One sweep, now, in batches of `batch` rows. Rate-limit counters are kept
/// for the longest window in `limits` plus a day, so no live window loses
/// its count.
pub fn sweep_once(db: &Db, limits: &Limits, batch: i64) -> Result<Outcome, String> {
    let now = Utc::now().naive_utc();
    let keep = chrono::Duration::from_std(crate::ratelimit::longest_window(limits))
        .unwrap_or(chrono::Duration::days(3_650))
        + chrono::Duration::days(1);
    let counters_before = now - keep;
    match db.url.backend {
        crate::db::Backend::Postgres => {
            // A connection of its own: the lock lives as long as it does.
            let mut conn = db.dedicated().map_err(|e| format!("database: {e}"))?;
            let turn: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind::<BigInt, _>(LOCK_KEY)
                .get_result(&mut conn)
                .map_err(|e| format!("database: {e}"))?;
            if !turn.locked {
                return Ok(Outcome::Skipped);
            }
            sweep_tables(&mut conn, now, counters_before, batch).map(Outcome::Swept)
        }
        crate::db::Backend::Sqlite => {
            let mut conn = db.get().map_err(|e| e.message())?;
            sweep_tables(&mut conn, now, counters_before, batch).map(Outcome::Swept)
        }
    }
}

fn sweep_tables(
    conn: &mut DbConn,
    now: NaiveDateTime,
    counters_before: NaiveDateTime,
    batch: i64,
) -> Result<Swept, String> {
    let batch = batch.max(1);
    let sessions = delete_due(conn, "sessions", "id", "expires_at <=", now, batch)?;
    let oauth_states = delete_due(
        conn,
        "oauth_states",
        "state_hash",
        "expires_at <",
        now,
        batch,
    )?;
    let rate_limits = delete_due(
        conn,
        "rate_limits",
        "key",
        "window_start <",
        counters_before,
        batch,
    )?;
    let email_tokens = delete_due(
        conn,
        "email_tokens",
        "token_hash",
        "expires_at <=",
        now,
        batch,
    )?;
    let pending_signins = delete_due(
        conn,
        "pending_signins",
        "token_hash",
        "expires_at <=",
        now,
        batch,
    )?;
    let webauthn_challenges = delete_due(
        conn,
        "webauthn_challenges",
        "binding_hash",
        "expires_at <=",
        now,
        batch,
    )?;
    Ok(Swept {
        sessions,
        oauth_states,
        rate_limits,
        email_tokens,
        pending_signins,
        webauthn_challenges,
    })
}

/// Deletes the rows of `table` whose `due` condition holds against `at`,
/// `batch` rows per statement (the same SQL on both backends: SQLite reads
/// `$1` as its first parameter), until a statement deletes fewer.
fn delete_due(
    conn: &mut DbConn,
    table: &str,
    key: &str,
    due: &str,
    at: NaiveDateTime,
    batch: i64,
) -> Result<usize, String> {
    let sql = format!(
        "DELETE FROM {table} WHERE {key} IN \
         (SELECT {key} FROM {table} WHERE {due} $1 LIMIT $2)"
    );
    let mut total = 0;
    loop {
        let n = diesel::sql_query(&sql)
            .bind::<Timestamp, _>(at)
            .bind::<BigInt, _>(batch)
            .execute(conn)
            .map_err(|e| format!("database: {e}"))?;
        total += n;
        if (n as i64) < batch {
            return Ok(total);
        }
        // Let a waiting writer in between two batches.
        std::thread::yield_now();
    }
}

/// The sweeper thread. Dropping it (or [`Sweeper::stop`]) ends the thread
/// after the sweep in progress, if any.
pub struct Sweeper {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Sweeper {
    /// Sweeps every `interval`, the first time after a random delay of at
    /// most a minute (or the interval, if shorter), so instances that start
    /// together do not all sweep at once and a server restarted more often
    /// than `interval` still sweeps.
    pub fn start(db: Db, limits: Limits, interval: Duration) -> Sweeper {
        Self::start_with(db, limits, interval, Metrics::off())
    }

    /// [`start`](Self::start), counting each round in `metrics`.
    pub fn start_with(db: Db, limits: Limits, interval: Duration, metrics: Metrics) -> Sweeper {
        let (stop, stopped) = mpsc::channel::<()>();
        let first = interval.min(Duration::from_secs(60));
        let first = rand::thread_rng().gen_range(Duration::ZERO..=first);
        let thread = std::thread::Builder::new()
            .name("gatehouse-sweeper".into())
            .spawn(move || {
                let mut wait = first;
                loop {
                    match stopped.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                    let outcome = sweep_once(&db, &limits, BATCH);
                    metrics.sweep(&outcome);
                    report(outcome);
                    wait = interval;
                }
            })
            .expect("spawn the sweeper thread");
        Sweeper {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.halt();
    }
}

fn report(outcome: Result<Outcome, String>) {
    match outcome {
        Ok(Outcome::Swept(swept)) if swept.total() > 0 => log::info!(
            "sweeper deleted {} expired session(s), {} unfinished OAuth sign-in(s), {} old rate-limit counter(s), {} expired mailed link(s), {} unfinished two-factor sign-in(s), {} unfinished passkey ceremonies",
            swept.sessions,
            swept.oauth_states,
            swept.rate_limits,
            swept.email_tokens,
            swept.pending_signins,
            swept.webauthn_challenges
        ),
        Ok(Outcome::Swept(_)) => log::debug!("sweeper: nothing to delete"),
        Ok(Outcome::Skipped) => log::debug!("sweeper: another instance is sweeping"),
        Err(e) => log::warn!("sweeper: {e}; trying again next round"),
    }
}
