//! The mail a test app sent, read back as its recipient gets it. By default
//! every test app delivers over SMTP to an [`SmtpSink`] of its own on
//! loopback (see [`Outbox`]), and its mailbox reads what the sink received.
//! An app started with `SMTP_URL` named in its settings (a story's own sink,
//! or [`EML`]: unset, the `.eml` default) reads the files it wrote under
//! `GATEHOUSE_MAIL_DIR` instead. Either way: wait for the newest message to an
//! address, read its text and its link.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gatehouse::mail::{Mailer, Outgoing};

use super::smtp::SmtpSink;

/// The setting that starts an app on the `.eml` default: `SMTP_URL` unset
/// (an empty value counts as unset), mail written under `GATEHOUSE_MAIL_DIR`.
pub const EML: (&str, &str) = ("SMTP_URL", "");

/// The domain of [`Mailbox::settle`]'s markers; never shown by a mailbox.
const MARKER_DOMAIN: &str = "@mailbox.invalid";

/// Where a test app's mail goes: its own SMTP sink, or (`None`) the `.eml`
/// files or whatever server the story named in `SMTP_URL`. Clones share the
/// sink, so a restarted app or a second instance delivers to the same one.
#[derive(Clone)]
pub struct Outbox {
    sink: Option<Arc<SmtpSink>>,
}

impl Outbox {
    /// A new sink for an app started with `vars`, unless they name `SMTP_URL`.
    pub fn for_vars(vars: &[(&str, &str)]) -> Outbox {
        let named = vars.iter().any(|(k, _)| *k == "SMTP_URL");
        Outbox {
            sink: (!named).then(|| Arc::new(SmtpSink::start())),
        }
    }

    /// The outbox of the same app started again with `vars`: the same sink,
    /// unless `vars` name `SMTP_URL` (or there was none).
    pub fn again(&self, vars: &[(&str, &str)]) -> Outbox {
        let named = vars.iter().any(|(k, _)| *k == "SMTP_URL");
        match &self.sink {
            Some(_) if !named => self.clone(),
            _ => Self::for_vars(vars),
        }
    }

    /// `vars`, with `SMTP_URL` pointing at the sink when there is one.
    pub fn vars(&self, vars: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(sink) = &self.sink {
            all.push(("SMTP_URL".into(), sink.url()));
        }
        all
    }

    /// The mailbox of an app with this outbox, its mail directory and its
    /// mailer.
    pub fn mailbox(&self, dir: PathBuf, mailer: Mailer) -> Mailbox {
        let source = match &self.sink {
            Some(sink) => Source::Sink(sink.clone()),
            None => Source::Files(dir),
        };
        Mailbox {
            source,
            mailer: Some(mailer),
        }
    }
}

/// `vars` as the `&str` pairs the config reads.
pub fn borrowed(vars: &[(String, String)]) -> Vec<(&str, &str)> {
    vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

pub struct Mailbox {
    source: Source,
    /// The app's mailer, for [`Mailbox::settle`] (none for a process's outbox).
    mailer: Option<Mailer>,
}

enum Source {
    Sink(Arc<SmtpSink>),
    Files(PathBuf),
}

/// One message, as delivered.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl Mail {
    /// The first `http://` or `https://` link in the text.
    pub fn link(&self) -> String {
        let start = self
            .text
            .find("http://")
            .or_else(|| self.text.find("https://"))
            .unwrap_or_else(|| panic!("no link in: {}", self.text));
        self.text[start..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }

    /// The link's path and query (`/reset-password?token=…`), for a browser.
    pub fn path(&self) -> String {
        let url = url::Url::parse(&self.link()).unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The `token` of the link.
    pub fn token(&self) -> String {
        let url = url::Url::parse(&self.link()).unwrap();
        url.query_pairs()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no token in {}", self.link()))
    }

    fn from_parsed(mail: super::smtp::Mail) -> Mail {
        Mail {
            to: mail.to,
            subject: mail.subject,
            text: mail.text.replace("\r\n", "\n"),
        }
    }
}

impl Mailbox {
    /// The `.eml` files under `dir` (a server process's `GATEHOUSE_MAIL_DIR`).
    pub fn new(dir: PathBuf) -> Self {
        Mailbox {
            source: Source::Files(dir),
            mailer: None,
        }
    }

    /// Whether this mailbox reads an SMTP sink (not `.eml` files).
    pub fn is_smtp(&self) -> bool {
        matches!(self.source, Source::Sink(_))
    }

    /// Every message so far, oldest first, markers included.
    fn delivered(&self) -> Vec<Mail> {
        match &self.source {
            Source::Sink(sink) => sink.messages().into_iter().map(Mail::from_parsed).collect(),
            Source::Files(dir) => read_dir(dir),
        }
    }

    /// Every message so far, oldest first.
    pub fn all(&self) -> Vec<Mail> {
        self.delivered()
            .into_iter()
            .filter(|m| !m.to.ends_with(MARKER_DOMAIN))
            .collect()
    }

    /// Messages to `to`, oldest first.
    pub fn to(&self, to: &str) -> Vec<Mail> {
        self.all().into_iter().filter(|m| m.to == to).collect()
    }

    /// Waits (up to 10 s) until `to` has `n` messages; answers the newest.
    pub fn wait_for_nth(&self, to: &str, n: usize) -> Mail {
        self.wait_for_nth_about(to, "", n)
    }

    /// Waits until `n` messages to `to` whose subject starts with `subject`
    /// have arrived; the newest of them.
    pub fn wait_for_nth_about(&self, to: &str, subject: &str, n: usize) -> Mail {
        let started = Instant::now();
        loop {
            let mails: Vec<Mail> = self
                .delivered()
                .into_iter()
                .filter(|m| m.to == to && m.subject.starts_with(subject))
                .collect();
            if mails.len() >= n {
                return mails.last().unwrap().clone();
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no mail #{n} \"{subject}\" to {to}; all: {:?}",
                self.all()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the first message to `to`.
    pub fn wait_for(&self, to: &str) -> Mail {
        self.wait_for_nth(to, 1)
    }

    /// Waits until every message the app queued before this call has been
    /// delivered: queues a marker behind them and waits for it. The queue
    /// delivers in order on one thread, so a story that then finds no mail
    /// to an address knows that none was sent, rather than none yet.
    pub fn settle(&self) {
        static MARKERS: AtomicUsize = AtomicUsize::new(0);
        let mailer = self
            .mailer
            .as_ref()
            .expect("settle needs the app's mailer (a TestApp's or EmbeddedApp's mailbox)");
        let n = MARKERS.fetch_add(1, Ordering::SeqCst);
        let to = format!("settled-{n}{MARKER_DOMAIN}");
        mailer.send(Outgoing {
            to: to.clone(),
            subject: "settled".into(),
            text: "Every earlier message has been delivered.".into(),
        });
        self.wait_for(&to);
    }
}

/// The `.eml` files under `dir`, oldest first (the names start with the time).
fn read_dir(dir: &std::path::Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    names.sort();
    names.iter().filter_map(|p| parse(p)).collect()
}

fn parse(path: &std::path::Path) -> Option<Mail> {
    // Files appear whole (written aside, then renamed): decode as a mail
    // client would (quoted-printable, encoded subjects).
    let raw = std::fs::read(path).ok()?;
    let mail = super::smtp::Mail::parse(String::new(), Vec::new(), raw);
    Some(Mail::from_parsed(mail))
}
