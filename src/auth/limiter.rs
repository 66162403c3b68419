//! Password hashing is the one expensive thing a request can ask for. It runs on
//! blocking threads, at most `concurrency` at once (fewer than the cores, so page
//! views keep a core), with a bounded queue: past it, a sign-in is answered
//! `503` with `Retry-After` at once instead of piling up memory and latency.

use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::web;
use tokio::sync::Semaphore;

use crate::error::AppError;

#[derive(Debug)]
pub struct HashLimiter {
    permits: Semaphore,
    /// Callers admitted: running plus waiting.
    admitted: AtomicUsize,
    max_admitted: usize,
}

impl HashLimiter {
    pub fn new(concurrency: usize, queue: usize) -> Self {
        let concurrency = concurrency.max(1);
        HashLimiter {
            permits: Semaphore::new(concurrency),
            admitted: AtomicUsize::new(0),
            max_admitted: concurrency + queue,
        }
    }

    /// One hashing thread fewer than the cores (at least one), and a queue of 64.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores.saturating_sub(1), 64)
    }

    /// Runs `work` (which hashes or verifies a password) when a slot is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        if self.admitted.fetch_add(1, Ordering::SeqCst) >= self.max_admitted {
            self.admitted.fetch_sub(1, Ordering::SeqCst);
            return Err(AppError::Busy);
        }
        let _admitted = Admitted(&self.admitted);
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| AppError::Internal("hash limiter closed".into()))?;
        web::block(work).await?
    }
}

/// Leaves the count when the caller is done, or gives up (a dropped request).
struct Admitted<'a>(&'a AtomicUsize);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[actix_web::test]
    async fn beyond_the_queue_callers_are_turned_away() {
        let limiter = Arc::new(HashLimiter::new(1, 2));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let mut running = Vec::new();
        for _ in 0..3 {
            let limiter = limiter.clone();
            let rx = rx.clone();
            running.push(actix_web::rt::spawn(async move {
                limiter
                    .run(move || {
                        let _ = rx.lock().unwrap().recv_timeout(Duration::from_secs(5));
                        Ok(())
                    })
                    .await
            }));
        }
        // Let the three be admitted (one running, two queued).
        while limiter.admitted.load(Ordering::SeqCst) < 3 {
            actix_web::rt::time::sleep(Duration::from_millis(1)).await;
        }
        let refused = limiter.run(|| Ok(())).await;
        assert!(matches!(refused, Err(AppError::Busy)));
        for _ in 0..3 {
            tx.send(()).unwrap();
        }
        for r in running {
            assert!(r.await.unwrap().is_ok());
        }
        assert_eq!(limiter.admitted.load(Ordering::SeqCst), 0);
        assert!(limiter.run(|| Ok(())).await.is_ok());
    }
}
