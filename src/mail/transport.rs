//! The one place that knows where mail goes: an SMTP server (`SMTP_URL`) or,
//! with none configured, `.eml` files under `GATEHOUSE_MAIL_DIR`. Both get the
//! same message, built by lettre (Date, Message-ID, encoded UTF-8 subject, a
//! plain-text part). Blocking: runs on the delivery thread only.

use std::io::Write;
use std::path::{Path, PathBuf};

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{Message, SmtpTransport, Transport as _};

use super::{MailConfig, Outgoing, mask};

/// Where messages go.
pub(crate) enum Transport {
    Files(PathBuf),
    Smtp(Box<SmtpTransport>),
    /// `SMTP_URL` was accepted but the transport could not be built (checked at
    /// start, so not expected); every message fails and says why.
    Broken(String),
}

/// How one attempt went.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// Delivered; what to log about it.
    Done(String),
    /// Worth another try later (4xx, connection refused, timeout, disk full).
    Transient(String),
    /// Another try would get the same answer (5xx, an address that is not one).
    Permanent(String),
}

pub(crate) struct Sender {
    transport: Transport,
    from: Result<Mailbox, String>,
}

impl Sender {
    pub(crate) fn new(config: &MailConfig) -> Self {
        let transport = match &config.smtp {
            None => Transport::Files(config.dir.clone()),
            Some(url) => {
                match url.transport(config.timeout, &config.hello, config.smtp_ca.as_ref()) {
                    Ok(t) => Transport::Smtp(Box::new(t)),
                    Err(e) => Transport::Broken(e),
                }
            }
        };
        let from = parse_from(&config.from);
        Sender { transport, from }
    }

    /// One attempt at delivering `message`.
    pub(crate) fn deliver(&self, message: &Outgoing) -> Delivery {
        let from = match &self.from {
            Ok(from) => from,
            Err(e) => return Delivery::Permanent(format!("SMTP_FROM {e}")),
        };
        let email = match build(from, message) {
            Ok(email) => email,
            Err(e) => return Delivery::Permanent(e),
        };
        match &self.transport {
            Transport::Files(dir) => match write_eml(dir, &email) {
                Ok(path) => Delivery::Done(format!("written to {}", path.display())),
                Err(e) => Delivery::Transient(format!("cannot write to {}: {e}", dir.display())),
            },
            Transport::Smtp(smtp) => match smtp.send(&email) {
                Ok(_) => Delivery::Done("sent".into()),
                // A server's answer may quote the address; the log gets the mask.
                Err(e) => {
                    let why = e.to_string().replace(&message.to, &mask(&message.to));
                    if e.is_permanent() {
                        Delivery::Permanent(why)
                    } else {
                        Delivery::Transient(why)
                    }
                }
            },
            Transport::Broken(e) => Delivery::Permanent(e.clone()),
        }
    }
}

/// `SMTP_FROM` as a mailbox (`name <address>` or a bare address).
pub fn parse_from(raw: &str) -> Result<Mailbox, String> {
    raw.trim().parse::<Mailbox>().map_err(|e| {
        format!("`{raw}` is not a sender like `gatehouse <no-reply@example.com>` ({e})")
    })
}

fn build(from: &Mailbox, message: &Outgoing) -> Result<Message, String> {
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|e| format!("the recipient is not an address ({e})"))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone())
        .date_now()
        .message_id(Some(message_id(from)))
        .header(ContentType::TEXT_PLAIN)
        .body(message.text.clone())
        .map_err(|e| format!("cannot build the message ({e})"))
}

/// `<time.random@sender-domain>`: unique without asking the system's hostname.
fn message_id(from: &Mailbox) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "<{nanos:x}.{:016x}@{}>",
        rand::random::<u64>(),
        from.email.domain()
    )
}

fn write_eml(dir: &Path, email: &Message) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = format!(
        "{}-{:016x}.eml",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
        rand::random::<u64>()
    );
    // Written under a hidden name, then renamed: whoever watches the folder
    // (a mail client, a test) only ever sees whole messages.
    let path = dir.join(&name);
    let partial = dir.join(format!(".{name}.part"));
    let mut file = create_private(&partial)?;
    let written = file
        .write_all(&email.formatted())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&partial, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    Ok(path)
}

/// Mode 0600: the files carry sign-in links.
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
    use super::*;

    #[test]
    fn a_message_has_the_headers_a_mail_client_expects() {
        let from = parse_from("Gatehouse <no-reply@example.com>").unwrap();
        let email = build(
            &from,
            &Outgoing {
                to: "alice@example.com".into(),
                subject: "Réinitialiser le mot de passe".into(),
                text: "Bonjour\nhttps://example.com/reset?token=x\n".into(),
            },
        )
        .unwrap();
        let text = String::from_utf8(email.formatted()).unwrap();
        for header in [
            "From: ",
            "To: ",
            "Subject: =?utf-8?",
            "Date: ",
            "Message-ID: <",
        ] {
            assert!(text.contains(header), "{header} missing in {text}");
        }
        assert!(text.contains("@example.com>\r\n"), "{text}");
        assert!(
            text.contains("Content-Type: text/plain; charset=utf-8"),
            "{text}"
        );
    }

    #[test]
    fn smtp_from_must_be_a_mailbox() {
        assert!(parse_from("gatehouse <no-reply@example.com>").is_ok());
        assert!(parse_from("no-reply@example.com").is_ok());
        for bad in ["gatehouse", "a@", "<no-reply@example.com", "x y@z"] {
            assert!(parse_from(bad).is_err(), "{bad}");
        }
    }
}
