//! Password hashing is the one expensive thing a request can ask for. It runs on
//! a few dedicated threads (one fewer than the cores, so page views keep a
//! core), fed through a bounded queue: past it, a sign-in is answered `503` with
//! `Retry-After` at once instead of piling up memory and latency. Dedicated
//! threads also bound memory: argon2id takes 19 MiB a hash, and the allocator
//! keeps that much per thread that ever hashed, so hashing on the general
//! blocking pool grew the process by hundreds of MB in a sign-in storm. The
//! threads run at a lower CPU priority than the workers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::error::AppError;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Debug)]
pub struct HashLimiter {
    queue: SyncSender<Job>,
    stats: Arc<HashStats>,
}

/// What the metrics read of the limiter.
#[derive(Debug, Default)]
pub struct HashStats {
    /// Jobs queued or running now.
    depth: AtomicU64,
    /// Jobs refused because the queue was full.
    refused: AtomicU64,
}

impl HashStats {
    pub fn depth(&self) -> u64 {
        self.depth.load(Ordering::Relaxed)
    }

    pub fn refusals(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// Takes its job off the depth when the job ends, even by a panic.
struct Queued(Arc<HashStats>);

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.depth.fetch_sub(1, Ordering::Relaxed);
    }
}

impl HashLimiter {
    /// `threads` hashing threads and room for `queue` waiting jobs.
    pub fn new(threads: usize, queue: usize) -> Self {
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("gatehouse-hash-{n}"))
                .spawn(move || work(&rx))
                .expect("spawn a hashing thread");
        }
        HashLimiter {
            queue: tx,
            stats: Arc::default(),
        }
    }

    /// One hashing thread fewer than the cores (at least one), and a queue of 64.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores.saturating_sub(1), 64)
    }

    /// Queue depth and refusals, for the metrics.
    pub fn stats(&self) -> Arc<HashStats> {
        self.stats.clone()
    }

    /// Runs `work` (which hashes or verifies a password) on a hashing thread.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let (tx, rx) = oneshot::channel();
        // Counted before it is queued, so a fast thread cannot take it off
        // first; a refused job is dropped here and takes itself off.
        self.stats.depth.fetch_add(1, Ordering::Relaxed);
        let queued = Queued(self.stats.clone());
        let job: Job = Box::new(move || {
            let out = work();
            // Off the depth before the caller hears the answer.
            drop(queued);
            let _ = tx.send(out);
        });
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                return Err(AppError::Busy);
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(AppError::Internal("hashing threads are gone".into()));
            }
        }
        rx.await
            .map_err(|_| AppError::Internal("a hashing job was dropped".into()))?
    }
}

/// Lowers this thread's CPU priority (nice 10): when page views and hashing
/// compete for a core, page views win, and a sign-in waits a little longer.
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: gettid and setpriority take plain integers; on Linux,
    // PRIO_PROCESS with a thread id changes that thread alone.
    let rc = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10)
    };
    if rc != 0 {
        log::debug!(
            "hashing thread keeps its priority: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// A hashing thread: runs jobs until the limiter is dropped.
fn work(jobs: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            // A panicking job must not take the thread with it.
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[actix_web::test]
    async fn beyond_the_queue_callers_are_turned_away() {
        let limiter = Arc::new(HashLimiter::new(1, 2));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        let mut admitted = Vec::new();
        // One running (blocked until released) and two queued.
        for _ in 0..3 {
            let limiter = limiter.clone();
            let wait = wait.clone();
            admitted.push(actix_web::rt::spawn(async move {
                limiter
                    .run(move || {
                        let _ = wait.lock().unwrap().recv_timeout(Duration::from_secs(5));
                        Ok(())
                    })
                    .await
            }));
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(limiter.stats().depth(), 3);
        let refused = limiter.run(|| Ok(())).await;
        assert!(matches!(refused, Err(AppError::Busy)), "{refused:?}");
        assert_eq!(limiter.stats().refusals(), 1);
        assert_eq!(limiter.stats().depth(), 3);
        for _ in 0..3 {
            release.send(()).unwrap();
        }
        for a in admitted {
            assert!(a.await.unwrap().is_ok());
        }
        assert_eq!(limiter.run(|| Ok(7)).await.unwrap(), 7);
        assert_eq!(limiter.stats().depth(), 0);
    }

    #[actix_web::test]
    async fn a_panicking_job_answers_an_error_and_the_thread_lives_on() {
        let limiter = HashLimiter::new(1, 1);
        let failed = limiter.run::<()>(|| panic!("boom")).await;
        assert!(matches!(failed, Err(AppError::Internal(_))));
        assert_eq!(limiter.run(|| Ok(1)).await.unwrap(), 1);
        assert_eq!(limiter.stats().depth(), 0);
    }
}
