//! Outgoing mail. A request that sends mail commits its token first, hands
//! the message to [`Mailer::send`] (which never blocks and never fails the
//! request) and answers; delivery happens on a thread of its own.
//!
//! This is the delivery skeleton: messages are written as `.eml` files under
//! `GATEHOUSE_MAIL_DIR` (mode 0600: they carry sign-in links). SMTP delivery
//! (`SMTP_URL`), retries and the bounded queue's accounting come next.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

/// Mail settings (`GATEHOUSE_MAIL_DIR`, `SMTP_FROM`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailConfig {
    /// Where messages are written while there is no SMTP server.
    pub dir: PathBuf,
    /// The sender, `name <address>`.
    pub from: String,
}

impl MailConfig {
    /// The defaults for a site at `public_url`: `mail/` and
    /// `gatehouse <no-reply@HOST>`.
    pub fn defaults_for(public_url: &url::Url) -> Self {
        let host = public_url.host_str().unwrap_or("localhost");
        MailConfig {
            dir: PathBuf::from("mail"),
            from: format!("gatehouse <no-reply@{host}>"),
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

/// Hands messages to the delivery thread.
#[derive(Debug, Clone)]
pub struct Mailer {
    queue: SyncSender<Outgoing>,
}

/// Messages waiting for delivery at most; past it a message is dropped and
/// logged (its token still works; the user can ask again).
const QUEUE: usize = 1_000;

impl Mailer {
    pub fn start(config: MailConfig) -> Self {
        let (queue, waiting) = sync_channel::<Outgoing>(QUEUE);
        std::thread::Builder::new()
            .name("gatehouse-mail".into())
            .spawn(move || {
                for message in waiting {
                    match write_eml(&config, &message) {
                        Ok(path) => log::info!(
                            "mail for {} written to {}",
                            mask(&message.to),
                            path.display()
                        ),
                        Err(e) => log::warn!("mail for {} not written: {e}", mask(&message.to)),
                    }
                }
            })
            .expect("spawn the mail thread");
        Mailer { queue }
    }

    /// Queues `message`; never blocks.
    pub fn send(&self, message: Outgoing) {
        match self.queue.try_send(message) {
            Ok(()) => {}
            Err(TrySendError::Full(m)) | Err(TrySendError::Disconnected(m)) => {
                log::warn!("mail for {} dropped: the mail queue is full", mask(&m.to));
            }
        }
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

fn write_eml(config: &MailConfig, message: &Outgoing) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(&config.dir)?;
    let name = format!(
        "{}-{:016x}.eml",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
        rand::random::<u64>()
    );
    let path = config.dir.join(name);
    let mut file = create_private(&path)?;
    let eml = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
        config.from,
        message.to,
        message.subject,
        chrono::Utc::now().to_rfc2822(),
        message.text.replace('\n', "\r\n")
    );
    file.write_all(eml.as_bytes())?;
    Ok(path)
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn mask_keeps_the_first_letter_and_the_domain() {
        assert_eq!(super::mask("alice@example.com"), "a***@example.com");
        assert_eq!(super::mask("nope"), "***");
    }
}
