//! Server-sent events read with a plain HTTP client (`tests/events*.rs`): a
//! reader thread hands the body's lines over a channel, so every wait is
//! bounded and a missing event fails instead of hanging.

use std::io::{BufRead, BufReader};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use super::{Browser, TestApp};

/// How long any one event may take to arrive.
pub const WAIT: Duration = Duration::from_secs(10);

/// One event of the stream.
#[derive(Debug)]
pub struct Event {
    pub name: String,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

/// An open stream: its status, headers, and its lines as a reader thread
/// receives them (`None` once the body ended).
pub struct Stream {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    lines: Receiver<Option<String>>,
    pub ended: bool,
}

/// What the stream held next.
#[derive(Debug)]
pub enum Next {
    Event(Event),
    Comment(String),
    End,
    Nothing,
}

impl Stream {
    pub fn open(browser: &Browser) -> Stream {
        let url = browser.url("/api/auth/events");
        let client = reqwest::blocking::Client::builder()
            .timeout(None)
            .build()
            .unwrap();
        let res = client
            .get(url)
            .header("cookie", browser.cookie_header())
            .header("accept", "text/event-stream")
            .send()
            .expect("request the stream");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let reader = BufReader::new(res);
            for line in reader.lines() {
                match line {
                    Ok(l) => {
                        if tx.send(Some(l)).is_err() {
                            return;
                        }
                    }
                    Err(_) => break,
                }
            }
            let _ = tx.send(None);
        });
        Stream {
            status,
            headers,
            lines: rx,
            ended: false,
        }
    }

    /// The next event, comment or end within `within`.
    pub fn next(&mut self, within: Duration) -> Next {
        let deadline = Instant::now() + within;
        let (mut name, mut data) = (String::new(), Vec::new());
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Some(line)) => {
                    if line.is_empty() {
                        if !name.is_empty() || !data.is_empty() {
                            return Next::Event(Event {
                                name: std::mem::take(&mut name),
                                data: data.join("\n"),
                            });
                        }
                    } else if let Some(c) = line.strip_prefix(':') {
                        return Next::Comment(c.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.trim_start().to_owned());
                    }
                }
                Ok(None) | Err(RecvTimeoutError::Disconnected) => {
                    self.ended = true;
                    return Next::End;
                }
                Err(RecvTimeoutError::Timeout) => return Next::Nothing,
            }
        }
    }

    /// The next event (comments skipped); panics on the end or a timeout.
    pub fn event(&mut self) -> Event {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.next(deadline.saturating_duration_since(Instant::now())) {
                Next::Event(e) => return e,
                Next::Comment(_) => continue,
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }

    /// The next `session` event's JSON.
    pub fn session(&mut self) -> serde_json::Value {
        let e = self.event();
        assert_eq!(e.name, "session", "{e:?}");
        e.json()
    }

    /// The `signout` event's reason, then the end of the body.
    pub fn signout(&mut self) -> String {
        let e = self.event();
        assert_eq!(e.name, "signout", "{e:?}");
        let reason = e.json()["reason"].as_str().unwrap().to_owned();
        match self.next(WAIT) {
            Next::End => reason,
            other => panic!("the stream went on after signout: {other:?}"),
        }
    }

    /// No event within `during` (comments allowed).
    pub fn quiet(&mut self, during: Duration) {
        let deadline = Instant::now() + during;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match self.next(left) {
                Next::Nothing => return,
                Next::Comment(_) => continue,
                other => panic!("expected nothing, got {other:?}"),
            }
        }
    }
}

/// A user with a stream open (its first event read) and a second device.
pub fn user_with_stream(app: &TestApp, email: &str) -> (Browser, Browser, Stream) {
    let here = app.signed_up("Ada", email);
    let other = app.signed_in(email);
    let mut stream = Stream::open(&here);
    assert_eq!(stream.status, 200);
    assert_eq!(stream.session()["user"]["name"], "Ada");
    (here, other, stream)
}

/// A counter or gauge of the app's `/metrics` (started with
/// `GATEHOUSE_METRICS_ADDR=127.0.0.1:0`).
pub fn metric(app: &TestApp, name: &str) -> f64 {
    let base = app.metrics_base.as_ref().expect("a metrics listener");
    let text = reqwest::blocking::get(format!("{base}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .trim()
        .parse()
        .unwrap()
}

/// The id of the session of `other`'s user that is not `other`'s own.
pub fn other_session_id(other: &Browser) -> String {
    let list = other.get("/api/auth/sessions").json();
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}
