//! The delivery queue: requests add to it under a short lock and return; one
//! thread takes the message that is due first, tries it, and puts a transient
//! failure back with the next delay of the backoff. Everything is in memory:
//! a restart loses what is queued (the tokens are committed; users ask again).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::transport::{Delivery, Sender};
use super::{MailConfig, MailStats, Outgoing, mask};

struct Pending {
    message: Outgoing,
    /// Attempts made so far.
    attempts: usize,
    due: Instant,
}

#[derive(Default)]
struct State {
    waiting: VecDeque<Pending>,
    in_flight: bool,
    /// Every `Mailer` is gone: deliver what is due now, then stop.
    closed: bool,
}

/// What the `Mailer` handles and the delivery thread share.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Wakes the delivery thread (a new message, a flush, the close).
    work: Condvar,
    /// Wakes `flush` (an attempt ended).
    settled: Condvar,
    capacity: usize,
    sent: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

impl Shared {
    /// Starts the delivery thread for `config`.
    pub(crate) fn start(config: MailConfig) -> Arc<Shared> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            settled: Condvar::new(),
            capacity: config.queue.max(1),
            sent: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        let worker = shared.clone();
        std::thread::Builder::new()
            .name("gatehouse-mail".into())
            .spawn(move || worker.deliver_until_closed(Sender::new(&config), &config.retry))
            .expect("spawn the mail thread");
        shared
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `message` unless the queue is full; never waits on delivery.
    pub(crate) fn push(&self, message: Outgoing) {
        let mut state = self.lock();
        if state.waiting.len() + usize::from(state.in_flight) >= self.capacity {
            drop(state);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            log::warn!(
                "mail for {} dropped: the mail queue is full ({} waiting)",
                mask(&message.to),
                self.capacity
            );
            return;
        }
        state.waiting.push_back(Pending {
            message,
            attempts: 0,
            due: Instant::now(),
        });
        drop(state);
        self.work.notify_one();
    }

    pub(crate) fn stats(&self) -> MailStats {
        let queued = {
            let state = self.lock();
            state.waiting.len() + usize::from(state.in_flight)
        };
        MailStats {
            queued: queued as u64,
            sent: self.sent.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.work.notify_one();
    }

    /// Makes every waiting message due now and waits until the queue is empty,
    /// nothing left can be tried before `deadline`, or `deadline` passes.
    /// Returns how many messages are still waiting.
    pub(crate) fn flush(&self, deadline: Instant) -> usize {
        let mut state = self.lock();
        let now = Instant::now();
        for pending in state.waiting.iter_mut() {
            pending.due = pending.due.min(now);
        }
        self.work.notify_one();
        loop {
            let now = Instant::now();
            let left = state.waiting.len() + usize::from(state.in_flight);
            let nothing_to_try = !state.in_flight && state.waiting.iter().all(|p| p.due > deadline);
            if left == 0 || now >= deadline || nothing_to_try {
                if left > 0 {
                    log::warn!(
                        "{left} mail(s) still queued were not delivered before the deadline \
                         (their links still work; users can ask again)"
                    );
                }
                return left;
            }
            state = self
                .settled
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// The delivery thread's loop.
    fn deliver_until_closed(&self, sender: Sender, retry: &[Duration]) {
        while let Some(mut pending) = self.next_due() {
            let outcome = sender.deliver(&pending.message);
            pending.attempts += 1;
            let to = mask(&pending.message.to);
            let mut state = self.lock();
            state.in_flight = false;
            match outcome {
                Delivery::Done(what) => {
                    self.sent.fetch_add(1, Ordering::Relaxed);
                    log::info!("mail for {to} {what}");
                }
                Delivery::Transient(why) if pending.attempts <= retry.len() => {
                    let delay = retry[pending.attempts - 1];
                    self.retried.fetch_add(1, Ordering::Relaxed);
                    log::warn!(
                        "mail for {to} not delivered ({why}); retrying in {} (attempt {} of {})",
                        humantime::format_duration(delay),
                        pending.attempts + 1,
                        retry.len() + 1
                    );
                    pending.due = Instant::now() + delay;
                    state.waiting.push_back(pending);
                }
                Delivery::Transient(why) => {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                    log::error!(
                        "mail for {to} failed after {} attempts: {why}",
                        pending.attempts
                    );
                }
                Delivery::Permanent(why) => {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                    log::error!("mail for {to} refused, not retried: {why}");
                }
            }
            drop(state);
            self.settled.notify_all();
        }
    }

    /// Waits for the message due first and marks it in flight; `None` once
    /// closed with nothing due.
    fn next_due(&self) -> Option<Pending> {
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            let first = (0..state.waiting.len()).min_by_key(|&i| state.waiting[i].due);
            match first {
                Some(i) if state.waiting[i].due <= now => {
                    state.in_flight = true;
                    return state.waiting.remove(i);
                }
                _ if state.closed => {
                    let left = state.waiting.len();
                    if left > 0 {
                        log::warn!("{left} mail(s) waiting for a retry dropped: mail stopped");
                        self.dropped.fetch_add(left as u64, Ordering::Relaxed);
                        state.waiting.clear();
                    }
                    drop(state);
                    self.settled.notify_all();
                    return None;
                }
                Some(i) => {
                    let wait = state.waiting[i].due - now;
                    state = self
                        .work
                        .wait_timeout(state, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                None => {
                    state = self.work.wait(state).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }
}
