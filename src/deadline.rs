//! The request deadline (`GATEHOUSE_RESPONSE_TIMEOUT`): how long a request
//! may take from the moment its body has arrived until it is answered.
//!
//! The web layer answers `503` with `Retry-After` once it passes (see
//! `web::deadline`). The database layer carries the deadline onto the
//! blocking thread that runs a request's queries ([`crate::db::Db::run`]):
//! work that has not started when it passes never starts, and a write
//! transaction that is still running then is rolled back instead of
//! committed, so a `503` answered at the deadline changes nothing. Without
//! this a request could wait `busy_timeout` once per write on a locked
//! SQLite file, three times over for a sign-in.

use std::cell::Cell;
use std::time::Instant;

tokio::task_local! {
    static REQUEST: Instant;
}

thread_local! {
    static BLOCKING: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `answer` with `deadline` as the request's deadline.
pub async fn scope<F: std::future::Future>(deadline: Instant, answer: F) -> F::Output {
    REQUEST.scope(deadline, answer).await
}

/// The deadline of the request being served, on its async task or on the
/// blocking thread running its queries.
pub fn current() -> Option<Instant> {
    REQUEST
        .try_with(|d| *d)
        .ok()
        .or_else(|| BLOCKING.with(Cell::get))
}

/// Whether the current request's deadline has passed (never, outside one).
pub fn passed() -> bool {
    current().is_some_and(|d| Instant::now() >= d)
}

/// Runs blocking `work` under `deadline` (the request's, taken on its task
/// before the hop), restoring the thread's previous one afterwards.
pub fn within<T>(deadline: Option<Instant>, work: impl FnOnce() -> T) -> T {
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            BLOCKING.with(|b| b.set(self.0));
        }
    }
    let _restore = Restore(BLOCKING.with(|b| b.replace(deadline)));
    work()
}

const PASSED: &str = "the request's deadline passed";

/// The error a write transaction ends with when it is rolled back at the
/// deadline (it maps to `503`, and the connection stays in the pool).
pub fn passed_error() -> diesel::result::Error {
    diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::Unknown,
        Box::new(PASSED.to_string()),
    )
}

/// Whether `e` is [`passed_error`].
pub fn is_passed_error(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(_, info) if info.message() == PASSED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_blocking_thread_sees_the_deadline_only_inside_within() {
        assert_eq!(current(), None);
        assert!(!passed());
        let gone = Instant::now() - Duration::from_millis(1);
        within(Some(gone), || {
            assert!(passed());
            let later = Instant::now() + Duration::from_secs(60);
            within(Some(later), || assert!(!passed()));
            assert!(passed(), "the outer deadline is restored");
        });
        assert_eq!(current(), None);
    }

    #[test]
    fn a_task_sees_its_own_deadline() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let at = Instant::now() + Duration::from_secs(60);
        rt.block_on(scope(at, async move {
            assert_eq!(current(), Some(at));
        }));
        assert_eq!(current(), None);
    }
}
