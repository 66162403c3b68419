//! Live updates: what changed, told to every open event stream of this
//! instance (and, on PostgreSQL, of every instance on the database).
//!
//! A [`Change`] names ids only ("user 12 changed", "session 34 ended,
//! revoked"), never data. Each watched session has one watcher on this
//! instance (`reload`): it hears the changes, reads the session again when
//! one concerns it or its user (once for all of the session's streams, and
//! once for a burst), and every stream of it sends the [`View`] it found.
//! Handlers publish after their transaction has committed, so a rolled-back
//! change is never told.
//!
//! - SQLite: [`Hub::publish`] sends into an in-process broadcast.
//! - PostgreSQL: it sends `NOTIFY gatehouse_events, '<payload>'`; one `LISTEN`
//!   connection per instance (`listen`) receives every instance's
//!   notifications, its own included, and fans them into the local broadcast.
//!
//! A watcher that falls behind the broadcast, or a `LISTEN` connection that
//! was lost and came back, makes every watched session be read again
//! ([`Change::Recheck`]) rather than miss an ending.

mod listen;
mod reload;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::{broadcast, watch};

use crate::db::{Backend, Db};
use crate::session::LoadedSession;

pub use reload::View;

/// The channel every instance's notifications travel on.
pub const CHANNEL: &str = "gatehouse_events";

/// How many changes the local broadcast keeps for a slow watcher before it
/// counts as lagging (and reads its session again): `EVENTS_BACKLOG`.
pub const BACKLOG: usize = 4_096;

/// Why a session ended, as `event: signout` tells it (SPEC "Live updates").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    SignedOut,
    Revoked,
    Banned,
    PasswordChanged,
    Expired,
    Deleted,
}

impl Reason {
    pub const ALL: [Reason; 6] = [
        Reason::SignedOut,
        Reason::Revoked,
        Reason::Banned,
        Reason::PasswordChanged,
        Reason::Expired,
        Reason::Deleted,
    ];

    /// The name the page and the payload use.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SignedOut => "signed_out",
            Reason::Revoked => "revoked",
            Reason::Banned => "banned",
            Reason::PasswordChanged => "password_changed",
            Reason::Expired => "expired",
            Reason::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What changed; ids only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The user's row changed (profile, preferences, email, role, plan, ...).
    User(i64),
    /// One session ended.
    Session { id: i64, reason: Reason },
    /// Every session of the user ended (and every session they impersonate
    /// through), or some of them did: each watched session of the user is read again.
    SessionsOf { user: i64, reason: Reason },
    /// Local only: every watched session is read again (a `LISTEN`
    /// connection that came back).
    Recheck,
}

impl Change {
    /// The `NOTIFY` payload: `u:<id>`, `s:<id>:<reason>`, `a:<id>:<reason>`.
    pub fn payload(&self) -> Option<String> {
        match *self {
            Change::User(id) => Some(format!("u:{id}")),
            Change::Session { id, reason } => Some(format!("s:{id}:{}", reason.as_str())),
            Change::SessionsOf { user, reason } => Some(format!("a:{user}:{}", reason.as_str())),
            Change::Recheck => None,
        }
    }

    /// Reads a payload back; `None` for anything else.
    pub fn parse(payload: &str) -> Option<Change> {
        let mut parts = payload.split(':');
        let kind = parts.next()?;
        let id: i64 = parts.next()?.parse().ok()?;
        let reason = parts.next().map(Reason::parse);
        if parts.next().is_some() {
            return None;
        }
        match (kind, reason) {
            ("u", None) => Some(Change::User(id)),
            ("s", Some(Some(reason))) => Some(Change::Session { id, reason }),
            ("a", Some(Some(reason))) => Some(Change::SessionsOf { user: id, reason }),
            _ => None,
        }
    }

    /// Whether a stream of `session` (of `user`, impersonated by
    /// `impersonator`) must read its session again; with the reason to give
    /// if it no longer reads.
    pub fn concerns(
        &self,
        session: i64,
        user: i64,
        impersonator: Option<i64>,
    ) -> Option<Option<Reason>> {
        let of_user = |id: i64| id == user || impersonator == Some(id);
        match *self {
            Change::User(id) if of_user(id) => Some(None),
            Change::Session { id, reason } if id == session => Some(Some(reason)),
            Change::SessionsOf { user, reason } if of_user(user) => Some(Some(reason)),
            Change::Recheck => Some(None),
            _ => None,
        }
    }
}

/// Where changes go and where streams listen; cheap to clone.
#[derive(Clone)]
pub struct Hub(Arc<Inner>);

struct Inner {
    tx: broadcast::Sender<Change>,
    /// PostgreSQL: changes are published through `NOTIFY` on this pool.
    notify: Option<Db>,
    max_streams: usize,
    open: AtomicUsize,
    sent: AtomicU64,
    /// Session reads by watchers, and watchers that fell behind.
    reloads: AtomicU64,
    lags: AtomicU64,
    read: reload::Reader,
    watched: reload::Watched,
    closing: watch::Sender<bool>,
    /// Dropped with the hub: the `LISTEN` thread then ends.
    _listener: Option<listen::Listener>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("max_streams", &self.0.max_streams)
            .field("open", &self.open_streams())
            .finish()
    }
}

impl Hub {
    /// The hub for `db`. On PostgreSQL this starts the instance's `LISTEN`
    /// connection and waits (a few seconds at most) until it listens, so a
    /// change made right after start reaches the streams. With
    /// `max_streams == 0` live updates are off: nothing listens. `backlog`:
    /// changes kept for a watcher that is busy reading (`EVENTS_BACKLOG`).
    pub fn start(db: &Db, max_streams: usize, backlog: usize) -> Self {
        let (tx, _) = broadcast::channel(backlog.max(1));
        let postgres = db.url.backend == Backend::Postgres && max_streams > 0;
        let listener = if postgres {
            listen::Listener::start(db.url.target(), tx.clone())
        } else {
            None
        };
        let reader = db.clone();
        let read: reload::Reader = Arc::new(move |id| {
            let db = reader.clone();
            Box::pin(async move {
                db.run(move |conn| Ok(crate::session::reload(conn, id)?))
                    .await
            })
        });
        // Without a listener (a TLS-only URL) a NOTIFY would reach no
        // stream: this instance's streams hear its changes directly.
        let notify = listener.as_ref().map(|_| db.clone());
        Hub::with(tx, notify, max_streams, read, listener)
    }

    fn with(
        tx: broadcast::Sender<Change>,
        notify: Option<Db>,
        max_streams: usize,
        read: reload::Reader,
        listener: Option<listen::Listener>,
    ) -> Self {
        let (closing, _) = watch::channel(false);
        Hub(Arc::new(Inner {
            tx,
            notify,
            max_streams,
            open: AtomicUsize::new(0),
            sent: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
            lags: AtomicU64::new(0),
            read,
            watched: Default::default(),
            closing,
            _listener: listener,
        }))
    }

    /// Whether `GET /api/auth/events` is served (`EVENTS_MAX_STREAMS` > 0).
    pub fn is_on(&self) -> bool {
        self.0.max_streams > 0
    }

    /// Tells every stream (of every instance, on PostgreSQL) about `change`.
    /// Call it after the change committed. A failure to notify is logged: the
    /// change itself stands, and every page shows it on its next request.
    pub async fn publish(&self, change: Change) {
        if !self.is_on() {
            return;
        }
        match (&self.0.notify, change.payload()) {
            (Some(db), Some(payload)) => {
                let sent = db
                    .run(move |conn| {
                        use diesel::RunQueryDsl;
                        diesel::sql_query("SELECT pg_notify($1, $2)")
                            .bind::<diesel::sql_types::Text, _>(CHANNEL)
                            .bind::<diesel::sql_types::Text, _>(payload)
                            .execute(conn)?;
                        Ok(())
                    })
                    .await;
                if let Err(e) = sent {
                    log::warn!("live updates: cannot notify the other instances: {e}");
                }
            }
            _ => {
                // No receiver is not an error.
                let _ = self.0.tx.send(change);
            }
        }
    }

    /// The user's row changed: their streams send the fresh session.
    pub async fn user_changed(&self, user: i64) {
        self.publish(Change::User(user)).await;
    }

    /// Session `id` ended for `reason`.
    pub async fn session_ended(&self, id: i64, reason: Reason) {
        self.publish(Change::Session { id, reason }).await;
    }

    /// Sessions of `user` ended for `reason` (all of them, or all but the
    /// current one: the streams of the sessions left send the fresh session).
    pub async fn sessions_of_ended(&self, user: i64, reason: Reason) {
        self.publish(Change::SessionsOf { user, reason }).await;
    }

    /// A place for one more stream of the session `seed` (as the request
    /// read it), or `None` when `EVENTS_MAX_STREAMS` are open (or live
    /// updates are off). The stream joins the session's watcher, or starts
    /// it (inside a tokio runtime).
    pub fn subscribe(&self, seed: LoadedSession) -> Option<Subscription> {
        let max = self.0.max_streams;
        self.0
            .open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        // The place is counted first, so a drop always frees it.
        let closing = self.0.closing.subscribe();
        let (first, views) = reload::join(self, seed);
        Some(Subscription {
            first,
            views,
            closing,
            hub: self.clone(),
        })
    }

    /// Ends every stream at once (shutdown: the drain is not held by them).
    pub fn close_all(&self) {
        self.0.closing.send_replace(true);
    }

    pub fn open_streams(&self) -> usize {
        self.0.open.load(Ordering::SeqCst)
    }

    /// Events sent on every stream so far (session, signout).
    pub fn events_sent(&self) -> u64 {
        self.0.sent.load(Ordering::Relaxed)
    }

    /// Counts one event sent on a stream.
    pub fn count_sent(&self) {
        self.0.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Sessions read again by watchers so far (one per session and burst,
    /// not one per stream).
    pub fn reloads(&self) -> u64 {
        self.0.reloads.load(Ordering::Relaxed)
    }

    /// Times a watcher fell behind the broadcast (and read again).
    pub fn lags(&self) -> u64 {
        self.0.lags.load(Ordering::Relaxed)
    }

    fn count_reload(&self) {
        self.0.reloads.fetch_add(1, Ordering::Relaxed);
    }

    fn count_lag(&self) {
        self.0.lags.fetch_add(1, Ordering::Relaxed);
    }
}

/// One open stream's place: the view to send first, the receiver of every
/// later view of its session, and the shutdown signal. Dropping it frees the
/// place (and, with the session's last stream, ends its watcher).
pub struct Subscription {
    pub first: View,
    pub views: watch::Receiver<View>,
    pub closing: watch::Receiver<bool>,
    hub: Hub,
}

impl Subscription {
    pub fn hub(&self) -> &Hub {
        &self.hub
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_ids_and_reasons_and_read_back() {
        for change in [
            Change::User(12),
            Change::Session {
                id: 34,
                reason: Reason::Revoked,
            },
            Change::SessionsOf {
                user: 5,
                reason: Reason::PasswordChanged,
            },
        ] {
            let payload = change.payload().unwrap();
            assert_eq!(Change::parse(&payload), Some(change), "{payload}");
        }
        assert_eq!(Change::Recheck.payload(), None);
        for bad in [
            "",
            "u",
            "u:x",
            "u:1:banned",
            "s:1",
            "s:1:nope",
            "x:1",
            "a:1:banned:2",
        ] {
            assert_eq!(Change::parse(bad), None, "{bad}");
        }
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn a_change_concerns_its_session_its_user_and_the_impersonator() {
        let ban = Change::SessionsOf {
            user: 9,
            reason: Reason::Banned,
        };
        assert_eq!(ban.concerns(1, 9, None), Some(Some(Reason::Banned)));
        assert_eq!(ban.concerns(1, 2, Some(9)), Some(Some(Reason::Banned)));
        assert_eq!(ban.concerns(1, 2, None), None);
        assert_eq!(Change::User(2).concerns(1, 2, None), Some(None));
        assert_eq!(Change::User(3).concerns(1, 2, None), None);
        let end = Change::Session {
            id: 1,
            reason: Reason::SignedOut,
        };
        assert_eq!(end.concerns(1, 2, None), Some(Some(Reason::SignedOut)));
        assert_eq!(end.concerns(7, 2, None), None);
        assert_eq!(Change::Recheck.concerns(7, 2, None), Some(None));
    }
}
