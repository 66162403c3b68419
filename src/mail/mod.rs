//! Outgoing mail. A request that sends mail commits its token first, hands
//! the message to [`Mailer::send`] (which never blocks and never fails the
//! request) and answers; delivery happens on a thread of its own.
//!
//! `transport` chooses where mail goes (SMTP through lettre, or `.eml` files
//! when `SMTP_URL` is unset); `queue` holds the bounded in-memory queue, the
//! retries with backoff and the counters; `smtp_url` parses `SMTP_URL`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod queue;
pub mod smtp_url;
mod transport;

pub use smtp_url::{Security, SmtpCa, SmtpUrl};
pub use transport::parse_from;

/// Mail settings (`SMTP_URL`, `GATEHOUSE_MAIL_DIR`, `SMTP_FROM`), and the
/// delivery knobs that are not variables (tests shorten them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailConfig {
    /// Where messages are written while there is no SMTP server.
    pub dir: PathBuf,
    /// The sender, `name <address>` (checked as a mailbox at start).
    pub from: String,
    /// `SMTP_URL`; `None`: `.eml` files under `dir`.
    pub smtp: Option<SmtpUrl>,
    /// `SMTP_CA_FILE`: certificates trusted for the SMTP server besides the
    /// public roots.
    pub smtp_ca: Option<SmtpCa>,
    /// The name gatehouse gives in EHLO: the host of `GATEHOUSE_URL`.
    pub hello: String,
    /// Connecting and each SMTP command may take this long.
    pub timeout: Duration,
    /// The waits before the second, third… attempt; after the last, the
    /// message has failed.
    pub retry: Vec<Duration>,
    /// Messages waiting (or being tried) at most; past it new ones are dropped.
    pub queue: usize,
}

impl MailConfig {
    /// The defaults for a site at `public_url`: `mail/` and
    /// `gatehouse <no-reply@HOST>` (`localhost` when HOST is no mail domain).
    pub fn defaults_for(public_url: &url::Url) -> Self {
        let host = match public_url.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            _ => "localhost".to_owned(),
        };
        let mut from = format!("gatehouse <no-reply@{host}>");
        if parse_from(&from).is_err() {
            from = "gatehouse <no-reply@localhost>".into();
        }
        MailConfig {
            dir: PathBuf::from("mail"),
            from,
            smtp: None,
            smtp_ca: None,
            hello: public_url.host_str().unwrap_or("localhost").to_owned(),
            timeout: Duration::from_secs(10),
            retry: [1, 5, 30, 120, 600]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            queue: 1_000,
        }
    }
}

/// One message: plain text, one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// The delivery counters (for metrics). `queued` is how many messages wait
/// now (including one being tried); the others count since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailStats {
    pub queued: u64,
    pub sent: u64,
    /// Attempts that failed for a passing reason and were put back.
    pub retried: u64,
    /// Messages given up: refused for good, or out of retries.
    pub failed: u64,
    /// Messages never tried: the queue was full (or mail stopped).
    pub dropped: u64,
}

/// Hands messages to the delivery thread. Clones share one queue; when the
/// last clone is dropped, the thread delivers what is due and stops.
#[derive(Clone)]
pub struct Mailer {
    handle: Arc<Handle>,
}

struct Handle(Arc<queue::Shared>);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Mailer {
    pub fn start(config: MailConfig) -> Self {
        Mailer {
            handle: Arc::new(Handle(queue::Shared::start(config))),
        }
    }

    /// Queues `message`; never blocks. A full queue drops it (logged with the
    /// address masked, counted in [`MailStats::dropped`]).
    pub fn send(&self, message: Outgoing) {
        self.handle.0.push(message);
    }

    pub fn stats(&self) -> MailStats {
        self.handle.0.stats()
    }

    /// At shutdown: tries every queued message once more now (retry waits
    /// are skipped) and waits for them until `deadline`. Blocking. Returns
    /// how many are still undelivered (logged when not zero).
    pub fn flush(&self, deadline: Instant) -> usize {
        self.handle.0.flush(deadline)
    }
}

/// `a***@example.com`: enough to tell messages apart in a log, not the address.
pub fn mask(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mask_keeps_the_first_letter_and_the_domain() {
        assert_eq!(super::mask("alice@example.com"), "a***@example.com");
        assert_eq!(super::mask("nope"), "***");
    }
}
