//! One reload per session, however many streams show it. The first stream of
//! a session starts a watcher task; later streams of the same session (more
//! tabs) join it. The watcher alone hears the broadcast, reads the session
//! again when a change concerns it, and hands the [`View`] to every stream
//! through a `watch` channel, which always holds the latest view: a slow
//! stream skips to it and never misses the final state.
//!
//! Changes that arrive while a read is in flight wait in the watcher's
//! receiver; when the read is done they all cause one more read, not one
//! each. A watcher that falls behind the broadcast (lagged) reads again, in
//! case its own ending was among the changes it missed. A timer reads again
//! at the session's expiry and when the user's plan ends by itself
//! (`plan_expires_at`: no write, so no change to hear). The watcher ends with
//! its last stream, when the session ended, or when the database did not
//! answer (its streams then end and clients reconnect). Nothing is held
//! between changes but the channels: no connection, no polling.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::{Change, Hub, Reason};
use crate::error::AppError;
use crate::session::LoadedSession;

/// Reads a session by id (`None`: it no longer stands).
pub(super) type Reader =
    Arc<dyn Fn(i64) -> BoxFuture<'static, Result<Option<LoadedSession>, AppError>> + Send + Sync>;

/// What a session reads as, shared by its streams.
#[derive(Clone, Debug)]
pub enum View {
    Standing(Arc<LoadedSession>),
    /// The session ended; the stream says why and closes.
    Ended(Reason),
}

/// The watched sessions of this instance, by session id.
pub(super) type Watched = Mutex<HashMap<i64, Arc<watch::Sender<View>>>>;

type Sender = Arc<watch::Sender<View>>;

/// A stream's place in the session's watch: the view to send first (the
/// watcher's latest, or `seed` for the first stream) and the receiver of
/// every later one.
pub(super) fn join(hub: &Hub, seed: LoadedSession) -> (View, watch::Receiver<View>) {
    let id = seed.session_id;
    let mut watched = hub.0.watched.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(tx) = watched.get(&id) {
        let rx = tx.subscribe();
        let first = rx.borrow().clone();
        return (first, rx);
    }
    let view = View::Standing(Arc::new(seed));
    let (tx, rx) = watch::channel(view.clone());
    let tx = Arc::new(tx);
    watched.insert(id, tx.clone());
    let changes = hub.0.tx.subscribe();
    tokio::spawn(watch_session(hub.clone(), id, tx, changes));
    (view, rx)
}

/// Removes the session's entry when the watcher ends, however it ends (also
/// when its runtime drops it), unless another watcher took the place.
struct Unwatch {
    hub: Hub,
    id: i64,
    tx: Sender,
}

impl Unwatch {
    /// Removes the entry if no stream watches; whether it did. Under the
    /// lock [`join`] takes, so no stream joins a watcher that is ending.
    fn if_unwatched(&self) -> bool {
        let mut watched = self
            .hub
            .0
            .watched
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.tx.receiver_count() > 0 {
            return false;
        }
        if watched
            .get(&self.id)
            .is_some_and(|t| Arc::ptr_eq(t, &self.tx))
        {
            watched.remove(&self.id);
        }
        true
    }
}

impl Drop for Unwatch {
    fn drop(&mut self) {
        let mut watched = self
            .hub
            .0
            .watched
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if watched
            .get(&self.id)
            .is_some_and(|t| Arc::ptr_eq(t, &self.tx))
        {
            watched.remove(&self.id);
        }
    }
}

/// A read is due; the reason to give if the session no longer reads (the
/// first ending told wins: it is the one that ended the session).
fn merge(due: &mut Option<Option<Reason>>, concern: Option<Option<Reason>>) {
    if let Some(hint) = concern {
        *due = Some(due.flatten().or(hint));
    }
}

async fn watch_session(hub: Hub, id: i64, tx: Sender, mut changes: broadcast::Receiver<Change>) {
    let unwatch = Unwatch {
        hub: hub.clone(),
        id,
        tx: tx.clone(),
    };
    let mut due: Option<Option<Reason>> = None;
    loop {
        let (user, impersonator, expires_at, wake) = match &*tx.borrow() {
            View::Standing(s) => (
                s.user.id,
                s.impersonator_id,
                s.expires_at,
                wake_at(s.expires_at, s.user.plan_ends_at),
            ),
            View::Ended(_) => return,
        };
        let concerns = |c: &Change| c.concerns(id, user, impersonator);
        if due.is_none() {
            tokio::select! {
                _ = tx.closed() => {
                    if unwatch.if_unwatched() {
                        return;
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(wake) => due = Some(None),
                got = changes.recv() => match got {
                    Ok(c) => merge(&mut due, concerns(&c)),
                    Err(RecvError::Lagged(_)) => {
                        hub.count_lag();
                        due = Some(None);
                    }
                    Err(RecvError::Closed) => return,
                },
            }
            if due.is_none() {
                continue;
            }
        }
        // Whatever else already arrived is covered by the same read.
        loop {
            match changes.try_recv() {
                Ok(c) => merge(&mut due, concerns(&c)),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(_)) => {
                    hub.count_lag();
                    merge(&mut due, Some(None));
                }
                Err(TryRecvError::Closed) => return,
            }
        }
        let hint = due.take().flatten();
        hub.count_reload();
        match (hub.0.read)(id).await {
            Ok(Some(s)) => {
                tx.send_replace(View::Standing(Arc::new(s)));
            }
            Ok(None) => {
                let reason = if Utc::now() >= expires_at {
                    Reason::Expired
                } else {
                    hint.unwrap_or(Reason::Revoked)
                };
                tx.send_replace(View::Ended(reason));
                return;
            }
            // The database did not answer: the streams end (the sender goes
            // with this task) and clients reconnect to what stands then.
            Err(_) => return,
        }
    }
}

/// When the view changes by itself: the session's expiry or the plan's end,
/// on the runtime's clock, just after it (so the read sees it passed).
fn wake_at(expires_at: DateTime<Utc>, plan_ends_at: Option<DateTime<Utc>>) -> Instant {
    let at = plan_ends_at.map_or(expires_at, |p| p.min(expires_at));
    let left = (at - Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO)
        .min(Duration::from_secs(366 * 86_400));
    Instant::now() + left + Duration::from_millis(50)
}

#[cfg(test)]
mod tests {
    use tokio::sync::Semaphore;
    use tokio::time::timeout;

    use super::*;
    use crate::users::SessionUser;

    const WAIT: Duration = Duration::from_secs(5);

    /// A stand-in database: what the session reads as, how many reads began
    /// (each takes its snapshot then), and a gate each read passes to end.
    struct FakeDb {
        row: Mutex<Option<LoadedSession>>,
        reads: watch::Sender<u64>,
        gate: Semaphore,
    }

    fn session(id: i64, name: &str) -> LoadedSession {
        LoadedSession {
            session_id: id,
            user: SessionUser {
                id: 2,
                name: name.into(),
                email: "a@example.com".into(),
                email_verified: false,
                two_factor: false,
                image: None,
                role: "user".into(),
                permissions: vec![],
                theme: "system".into(),
                language: "en".into(),
                plan: "free".into(),
                plan_ends_at: None,
            },
            expires_at: Utc::now() + chrono::Duration::days(1),
            extended: false,
            impersonator_id: None,
            authenticated_at: Utc::now(),
            aal: 1,
        }
    }

    /// A hub over `db`; reads pass at once when `open`.
    fn hub(backlog: usize, open: bool) -> (Hub, Arc<FakeDb>) {
        hub_of(100, backlog, open)
    }

    fn hub_of(max_streams: usize, backlog: usize, open: bool) -> (Hub, Arc<FakeDb>) {
        let db = Arc::new(FakeDb {
            row: Mutex::new(Some(session(1, "Ada"))),
            reads: watch::channel(0).0,
            gate: Semaphore::new(if open { Semaphore::MAX_PERMITS } else { 0 }),
        });
        let fake = db.clone();
        let read: Reader = Arc::new(move |id| {
            let db = fake.clone();
            Box::pin(async move {
                let snapshot = db
                    .row
                    .lock()
                    .unwrap()
                    .clone()
                    .filter(|s| s.session_id == id);
                db.reads.send_modify(|n| *n += 1);
                db.gate.acquire().await.unwrap().forget();
                Ok(snapshot)
            })
        });
        let (tx, _) = broadcast::channel(backlog);
        (Hub::with(tx, None, max_streams, read, None), db)
    }

    fn name_of(view: &View) -> Option<String> {
        match view {
            View::Standing(s) => Some(s.user.name.clone()),
            View::Ended(_) => None,
        }
    }

    /// The view once `done` holds for it.
    async fn until(views: &mut watch::Receiver<View>, done: impl FnMut(&View) -> bool) -> View {
        timeout(WAIT, views.wait_for(done))
            .await
            .expect("in time")
            .expect("the watcher is there")
            .clone()
    }

    async fn reads_reach(db: &FakeDb, n: u64) {
        let mut reads = db.reads.subscribe();
        timeout(WAIT, reads.wait_for(|r| *r >= n))
            .await
            .expect("in time")
            .unwrap();
    }

    #[tokio::test]
    async fn places_are_bounded_and_freed() {
        let (hub, _db) = hub_of(2, 4, true);
        let a = hub.subscribe(session(1, "Ada")).unwrap();
        let _b = hub.subscribe(session(1, "Ada")).unwrap();
        assert!(hub.subscribe(session(1, "Ada")).is_none());
        drop(a);
        assert_eq!(hub.open_streams(), 1);
        assert!(hub.subscribe(session(1, "Ada")).is_some());
    }

    #[tokio::test]
    async fn five_streams_of_a_session_share_one_read() {
        let (hub, db) = hub(16, true);
        let mut streams: Vec<_> = (0..5)
            .map(|_| hub.subscribe(session(1, "Ada")).unwrap())
            .collect();
        // Another device of the same user: its own session, its own read.
        let mut other = hub.subscribe(session(7, "Ada")).unwrap();
        *db.row.lock().unwrap() = Some(session(1, "Ada L"));
        hub.user_changed(2).await;
        for s in &mut streams {
            let view = until(&mut s.views, |v| name_of(v).as_deref() == Some("Ada L")).await;
            assert!(matches!(view, View::Standing(_)));
        }
        // Session 7 no longer reads in the fake: it ends, with the default reason.
        assert!(matches!(
            until(&mut other.views, |v| matches!(v, View::Ended(_))).await,
            View::Ended(Reason::Revoked)
        ));
        assert_eq!(hub.reloads(), 2);
        assert_eq!(*db.reads.borrow(), 2);
    }

    #[tokio::test]
    async fn a_burst_during_a_read_costs_one_more_read_and_ends_on_the_last_state() {
        let (hub, db) = hub(64, false);
        let mut a = hub.subscribe(session(1, "Ada")).unwrap();
        let mut b = hub.subscribe(session(1, "Ada")).unwrap();
        hub.user_changed(2).await;
        reads_reach(&db, 1).await;
        // While the first read is out, twenty more edits land.
        for i in 1..=20 {
            *db.row.lock().unwrap() = Some(session(1, &format!("Ada {i}")));
            hub.user_changed(2).await;
        }
        db.gate.add_permits(100);
        for s in [&mut a, &mut b] {
            until(&mut s.views, |v| name_of(v).as_deref() == Some("Ada 20")).await;
        }
        assert_eq!(*db.reads.borrow(), 2);
        assert_eq!(hub.reloads(), 2);
        assert_eq!(hub.lags(), 0);
    }

    #[tokio::test]
    async fn a_watcher_that_lags_reads_again_and_finds_the_ending_it_missed() {
        let (hub, db) = hub(1, false);
        let mut stream = hub.subscribe(session(1, "Ada")).unwrap();
        hub.user_changed(2).await;
        reads_reach(&db, 1).await;
        // The session is banned while the read is out; that change is pushed
        // out of the one-change backlog by two others before it is heard.
        *db.row.lock().unwrap() = None;
        hub.sessions_of_ended(2, Reason::Banned).await;
        hub.user_changed(98).await;
        hub.user_changed(99).await;
        db.gate.add_permits(100);
        let view = until(&mut stream.views, |v| matches!(v, View::Ended(_))).await;
        // The reason travelled with the missed change: the default is given.
        assert!(matches!(view, View::Ended(Reason::Revoked)), "{view:?}");
        assert_eq!(hub.lags(), 1);
        assert_eq!(*db.reads.borrow(), 2);
    }

    #[tokio::test]
    async fn a_plan_that_ends_by_itself_is_read_again_then() {
        let (hub, db) = hub(16, true);
        let mut seed = session(1, "Ada");
        seed.user.plan = "premium".into();
        seed.user.plan_ends_at = Some(Utc::now() + chrono::Duration::milliseconds(300));
        let mut stream = hub.subscribe(seed).unwrap();
        *db.row.lock().unwrap() = Some(session(1, "Ada"));
        let view = until(
            &mut stream.views,
            |v| matches!(v, View::Standing(s) if s.user.plan == "free"),
        )
        .await;
        assert!(matches!(view, View::Standing(_)));
        assert_eq!(*db.reads.borrow(), 1);
    }

    #[tokio::test]
    async fn the_last_stream_gone_ends_the_watcher_and_the_next_starts_anew() {
        let (hub, db) = hub(16, true);
        let a = hub.subscribe(session(1, "Ada")).unwrap();
        let b = hub.subscribe(session(1, "Ada")).unwrap();
        drop(a);
        tokio::task::yield_now().await;
        assert_eq!(hub.0.watched.lock().unwrap().len(), 1);
        drop(b);
        let gone = async {
            while !hub.0.watched.lock().unwrap().is_empty() {
                tokio::task::yield_now().await;
            }
        };
        timeout(WAIT, gone).await.expect("the watcher ended");
        assert_eq!(hub.0.tx.receiver_count(), 0);
        // A new stream starts a new watcher, which hears changes again.
        *db.row.lock().unwrap() = Some(session(1, "Ada again"));
        let mut c = hub.subscribe(session(1, "Ada")).unwrap();
        hub.user_changed(2).await;
        until(&mut c.views, |v| name_of(v).as_deref() == Some("Ada again")).await;
    }
}
