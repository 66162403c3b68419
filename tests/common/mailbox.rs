//! The mail a test app wrote as `.eml` files (`GATEHOUSE_MAIL_DIR`): wait for
//! the newest message to an address, read its text and its link.

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct Mailbox {
    dir: PathBuf,
}

/// One message, as written.
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
}

impl Mailbox {
    pub fn new(dir: PathBuf) -> Self {
        Mailbox { dir }
    }

    /// Every message so far, oldest first (the file names start with the time).
    pub fn all(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names.iter().filter_map(|p| parse(p)).collect()
    }

    /// Messages to `to`, oldest first.
    pub fn to(&self, to: &str) -> Vec<Mail> {
        self.all().into_iter().filter(|m| m.to == to).collect()
    }

    /// Waits (up to 10 s) until `to` has `n` messages; answers the newest.
    pub fn wait_for_nth(&self, to: &str, n: usize) -> Mail {
        let started = Instant::now();
        loop {
            let mails = self.to(to);
            if mails.len() >= n {
                return mails.last().unwrap().clone();
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no mail #{n} to {to}; all: {:?}",
                self.all()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the first message to `to`.
    pub fn wait_for(&self, to: &str) -> Mail {
        self.wait_for_nth(to, 1)
    }
}

fn parse(path: &std::path::Path) -> Option<Mail> {
    // Files appear whole (written aside, then renamed): decode as a mail
    // client would (quoted-printable, encoded subjects).
    let raw = std::fs::read(path).ok()?;
    let mail = super::smtp::Mail::parse(String::new(), Vec::new(), raw);
    Some(Mail {
        to: mail.to,
        subject: mail.subject,
        text: mail.text.replace("\r\n", "\n"),
    })
}
