//! Event notifications, after commit. Every audited event passes through
//! [`recorded`] when its row is written. Outside a transaction the row is
//! already committed, so the notification goes out at once; inside one it
//! waits in this thread's list until `DbConn::write_transaction` commits
//! (then it goes out) or rolls back (then it is dropped). Notifications are
//! handed to one thread per instance that calls [`Callbacks::event`], so a
//! slow callback never holds a request.
//!
//! Which app's callbacks hear an event is set when a thread takes a
//! connection from a pool ([`checkout`], from `Db::get`): a pool without
//! callbacks costs a thread-local read per audited event.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

use chrono::{DateTime, Utc};

use super::Callbacks;
use crate::audit::action;

/// Notifications waiting for the callback thread; beyond this they are
/// dropped (and counted) rather than holding the requests that made them.
const QUEUE: usize = 10_000;

/// What kind of thing happened, for apps that do not want to match action
/// names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// A new account (sign-up form, first provider sign-in, `user add`).
    SignUp,
    /// A session began (any method).
    SignIn,
    /// A session was ended by its user.
    SignOut,
    /// The user's row changed: profile, preferences, password, email, role,
    /// permissions, plan, two factors.
    UserChanged,
    /// A session was ended by someone else (the user elsewhere, an admin).
    SessionRevoked,
    /// The user was banned (their sessions ended).
    Banned,
    /// The ban was lifted.
    Unbanned,
    /// The account was deleted.
    AccountDeleted,
    /// Anything else in the audit log (failed sign-ins, rate limits, links
    /// sent, impersonation…): see [`Notification::action`].
    Other,
}

impl EventKind {
    /// The kind of an audit `action`.
    pub fn of(action: &str) -> EventKind {
        match action {
            action::SIGN_UP => EventKind::SignUp,
            action::SIGN_IN => EventKind::SignIn,
            action::SIGN_OUT => EventKind::SignOut,
            action::SESSION_REVOKED => EventKind::SessionRevoked,
            action::BANNED => EventKind::Banned,
            action::UNBANNED => EventKind::Unbanned,
            action::ACCOUNT_DELETED => EventKind::AccountDeleted,
            action::PROFILE_CHANGED
            | action::PREFERENCES_CHANGED
            | action::PASSWORD_CHANGED
            | action::PASSWORD_RESET
            | action::EMAIL_VERIFIED
            | action::EMAIL_CHANGED
            | action::ROLE_CHANGED
            | action::PERMISSIONS_CHANGED
            | action::PLAN_CHANGED
            | action::TWO_FACTOR_ENABLED
            | action::TWO_FACTOR_DISABLED
            | action::TWO_FACTOR_RESET => EventKind::UserChanged,
            _ => EventKind::Other,
        }
    }
}

/// One committed event, as the audit log holds it.
#[derive(Debug, Clone)]
pub struct Notification {
    /// What kind of event this is.
    pub kind: EventKind,
    /// The audit action (`sign_in`, `role_changed`…; the list is in the README).
    pub action: &'static str,
    /// Who did it (an admin acting on a user, or the user themselves).
    pub actor_id: Option<i64>,
    /// Whom it concerns.
    pub user_id: Option<i64>,
    /// The audit event's details (`{"method":"password"}`, the new role…).
    pub details: serde_json::Value,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// Where one instance's notifications go: the callback thread's queue.
#[derive(Clone)]
pub struct Sink {
    tx: SyncSender<Notification>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

impl Sink {
    /// Starts the thread that hands notifications to `callbacks`. It ends
    /// when the last pool holding this sink is dropped.
    pub fn start(callbacks: Arc<dyn Callbacks>) -> std::io::Result<Sink> {
        let (tx, rx) = sync_channel::<Notification>(QUEUE);
        std::thread::Builder::new()
            .name("gatehouse-events".into())
            .spawn(move || {
                for n in rx {
                    let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        callbacks.event(&n)
                    }));
                    if delivered.is_err() {
                        log::error!("the app's event callback panicked on {}", n.action);
                    }
                }
            })?;
        Ok(Sink {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    fn send(&self, n: Notification) {
        match self.tx.try_send(n) {
            Ok(()) => {}
            Err(TrySendError::Full(n)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                log::warn!("event callback queue full: {} not delivered", n.action);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Notifications dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Sink>> = const { RefCell::new(None) };
    static PENDING: RefCell<Vec<Notification>> = const { RefCell::new(Vec::new()) };
}

/// This thread now works on a connection of the pool whose sink is `sink`:
/// its events go there.
pub fn checkout(sink: Option<&Sink>) {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_some() || sink.is_some() {
            *c = sink.cloned();
        }
    });
}

/// An outermost transaction begins: nothing is pending on this thread (what
/// a transaction outside `write_transaction` may have left is dropped).
pub fn begin() {
    PENDING.with(|p| p.borrow_mut().clear());
}

/// Whether this thread's events are heard by anyone.
pub fn listening() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

/// An audit row was written; `in_transaction`: inside a transaction that
/// has not committed yet.
pub fn recorded(n: Notification, in_transaction: bool) {
    if in_transaction {
        PENDING.with(|p| p.borrow_mut().push(n));
    } else {
        send(vec![n]);
    }
}

/// How many notifications wait on this thread (a nested transaction's mark).
pub fn mark() -> usize {
    PENDING.with(|p| p.borrow().len())
}

/// The outermost transaction committed: what it recorded goes out.
pub fn committed() {
    let done = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    if !done.is_empty() {
        send(done);
    }
}

/// A transaction begun at `mark` rolled back: what it recorded never happened.
pub fn rolled_back(mark: usize) {
    PENDING.with(|p| p.borrow_mut().truncate(mark));
}

fn send(list: Vec<Notification>) {
    CURRENT.with(|c| {
        if let Some(sink) = &*c.borrow() {
            for n in list {
                sink.send(n);
            }
        }
    });
}
