//! A test's hand on the pool's statements ([`super::StatementLog`]): hold the
//! next statement that a test names, once it has run and before its rows
//! reach the caller, until the test lets it go. It makes an "in flight"
//! moment stand still, so a story can change things meanwhile (a live
//! stream's watcher that has read, but not yet heard what came after).

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

type Matcher = Box<dyn Fn(&str) -> bool + Send + Sync>;

#[derive(Default)]
struct State {
    /// Armed: the statement to hold.
    matcher: Option<Matcher>,
    held: bool,
}

/// Off unless a test arms it; a statement is held at most [`Hold::LIMIT`].
#[derive(Default)]
pub struct Hold {
    state: Mutex<State>,
    changed: Condvar,
}

impl std::fmt::Debug for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hold")
    }
}

impl Hold {
    /// The longest a statement is held, should a test never release it.
    pub const LIMIT: Duration = Duration::from_secs(30);

    /// Holds the next statement whose SQL text `matches`, after it ran.
    pub fn arm(&self, matches: impl Fn(&str) -> bool + Send + Sync + 'static) {
        let mut state = self.lock();
        state.matcher = Some(Box::new(matches));
        state.held = false;
    }

    /// Waits up to `within` until a statement is held; whether one is.
    pub fn wait_held(&self, within: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, within, |s| !s.held)
            .unwrap_or_else(PoisonError::into_inner);
        state.held
    }

    /// Lets the held statement's caller go on (and disarms).
    pub fn release(&self) {
        let mut state = self.lock();
        state.matcher = None;
        state.held = false;
        self.changed.notify_all();
    }

    /// Called by the connection after each statement.
    pub(super) fn after(&self, query: &dyn std::fmt::Display) {
        let mut state = self.lock();
        let hit = !state.held
            && state
                .matcher
                .as_ref()
                .is_some_and(|m| m(&query.to_string()));
        if !hit {
            return;
        }
        state.held = true;
        self.changed.notify_all();
        let until = Instant::now() + Self::LIMIT;
        while state.held && Instant::now() < until {
            let left = until.saturating_duration_since(Instant::now());
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.matcher = None;
        state.held = false;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
