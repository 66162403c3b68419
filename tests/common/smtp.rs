//! A real SMTP server on loopback for tests: `mailin`'s SMTP state machine
//! behind a small accept loop, so a test can stop it (connections refused),
//! bring it back on the same port, make it refuse or defer a recipient, or
//! replace it by a tarpit that accepts and never greets. Messages are decoded
//! with `mail-parser`.
//!
//! ```ignore
//! let sink = SmtpSink::start();
//! let app = TestApp::start_with(backend, &[("SMTP_URL", &sink.url())])?;
//! // … ask for a reset …
//! let mail = sink.wait_for("alice@example.com", Duration::from_secs(5));
//! let link = mail.link_to("/reset-password").unwrap();
//! ```
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use mailin::{Action, Handler, Response, SessionBuilder};

/// One delivered message, decoded.
#[derive(Clone, Debug)]
pub struct Mail {
    /// The envelope sender (`MAIL FROM`).
    pub envelope_from: String,
    /// The envelope recipients (`RCPT TO`).
    pub envelope_to: Vec<String>,
    /// The `From` header's address and display name.
    pub from: String,
    pub from_name: Option<String>,
    /// The `To` header's first address.
    pub to: String,
    /// Decoded (`=?utf-8?…?=` becomes text).
    pub subject: String,
    /// The first text/plain part, decoded.
    pub text: String,
    /// The message as it came over the wire.
    pub raw: Vec<u8>,
}

impl Mail {
    pub fn parse(envelope_from: String, envelope_to: Vec<String>, raw: Vec<u8>) -> Mail {
        let parsed = mail_parser::MessageParser::default()
            .parse(&raw)
            .expect("a parseable message");
        let first = |a: Option<&mail_parser::Address>| {
            a.and_then(|a| a.first()).map(|a| {
                (
                    a.address.as_deref().unwrap_or_default().to_owned(),
                    a.name.as_deref().map(str::to_owned),
                )
            })
        };
        let (from, from_name) = first(parsed.from()).unwrap_or_default();
        let (to, _) = first(parsed.to()).unwrap_or_default();
        Mail {
            envelope_from,
            envelope_to,
            from,
            from_name,
            to,
            subject: parsed.subject().unwrap_or_default().to_owned(),
            text: parsed
                .body_text(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
            raw,
        }
    }

    /// A header's raw value (still encoded), e.g. `Message-ID`.
    pub fn header(&self, name: &str) -> Option<String> {
        let parsed = mail_parser::MessageParser::default().parse(&self.raw)?;
        parsed.header_raw(name).map(|v| v.trim().to_owned())
    }

    /// Every `http(s)://…` link in the text.
    pub fn links(&self) -> Vec<String> {
        self.text
            .split_whitespace()
            .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
            .map(|w| w.trim_end_matches(['.', ',', ')', '>']).to_owned())
            .collect()
    }

    /// The first link whose path starts with `path` (`/reset-password`).
    pub fn link_to(&self, path: &str) -> Option<String> {
        self.links().into_iter().find(|l| {
            url::Url::parse(l)
                .map(|u| u.path().starts_with(path))
                .unwrap_or(false)
        })
    }
}

#[derive(Default)]
struct Store {
    messages: Vec<Mail>,
    /// Recipients answered `550` (permanent) or `451` (try later).
    refused: Vec<String>,
    deferred: Vec<String>,
}

struct Shared {
    store: Mutex<Store>,
    arrived: Condvar,
    credentials: Option<(String, String)>,
    /// Connections accepted so far (every attempt of a client).
    connections: AtomicUsize,
    /// While set, new connections are held open and never greeted (a hung
    /// server); [`SmtpSink::answer`] closes them.
    hanging: std::sync::atomic::AtomicBool,
    held: Mutex<Vec<TcpStream>>,
}

/// The running SMTP server; stops when dropped.
pub struct SmtpSink {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<Acceptor>,
}

impl SmtpSink {
    /// A server on a free loopback port; accepts any sender and recipient.
    pub fn start() -> SmtpSink {
        Self::start_inner(None)
    }

    /// A server that requires `AUTH PLAIN`/`LOGIN` with these credentials
    /// (over plain TCP: it is loopback).
    pub fn start_with_auth(user: &str, password: &str) -> SmtpSink {
        Self::start_inner(Some((user.to_owned(), password.to_owned())))
    }

    fn start_inner(credentials: Option<(String, String)>) -> SmtpSink {
        let shared = Arc::new(Shared {
            store: Mutex::default(),
            arrived: Condvar::new(),
            credentials,
            connections: AtomicUsize::new(0),
            hanging: Default::default(),
            held: Mutex::default(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let accept = Some(Acceptor::smtp(listener, shared.clone()));
        SmtpSink {
            shared,
            addr,
            accept,
        }
    }

    /// `smtp://127.0.0.1:PORT?tls=none` (with `user:pass@` for an auth sink).
    pub fn url(&self) -> String {
        match &self.shared.credentials {
            Some((user, password)) => format!(
                "smtp://{user}:{password}@127.0.0.1:{}?tls=none",
                self.addr.port()
            ),
            None => format!("smtp://127.0.0.1:{}?tls=none", self.addr.port()),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every message delivered so far, in order.
    pub fn messages(&self) -> Vec<Mail> {
        self.shared.store.lock().unwrap().messages.clone()
    }

    /// Messages whose envelope includes `to`.
    pub fn messages_to(&self, to: &str) -> Vec<Mail> {
        self.messages()
            .into_iter()
            .filter(|m| m.envelope_to.iter().any(|r| r == to))
            .collect()
    }

    /// The first message for `to`, waiting up to `timeout` for it; panics
    /// when none comes.
    pub fn wait_for(&self, to: &str, timeout: Duration) -> Mail {
        let deadline = Instant::now() + timeout;
        let mut store = self.shared.store.lock().unwrap();
        loop {
            if let Some(m) = store
                .messages
                .iter()
                .find(|m| m.envelope_to.iter().any(|r| r == to))
            {
                return m.clone();
            }
            let now = Instant::now();
            assert!(now < deadline, "no mail for {to} within {timeout:?}");
            store = self
                .shared
                .arrived
                .wait_timeout(store, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Connections accepted so far (each delivery attempt opens one).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Answers `RCPT TO:<to>` with `550` from now on (a permanent refusal).
    pub fn refuse(&self, to: &str) {
        self.shared
            .store
            .lock()
            .unwrap()
            .refused
            .push(to.to_owned());
    }

    /// Answers `RCPT TO:<to>` with `451` (try again later) until [`Self::accept`].
    pub fn defer(&self, to: &str) {
        self.shared
            .store
            .lock()
            .unwrap()
            .deferred
            .push(to.to_owned());
    }

    /// Takes `to` back: no longer refused or deferred.
    pub fn accept(&self, to: &str) {
        let mut store = self.shared.store.lock().unwrap();
        store.refused.retain(|r| r != to);
        store.deferred.retain(|r| r != to);
    }

    /// Closes the port: connections are refused until [`Self::resume`].
    pub fn stop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.stop();
        }
    }

    /// Hangs from now on: connections are accepted and never greeted, so a
    /// client waits until its timeout.
    pub fn hang(&self) {
        self.shared.hanging.store(true, Ordering::SeqCst);
    }

    /// Answers again; the connections held while hanging are closed.
    pub fn answer(&self) {
        self.shared.hanging.store(false, Ordering::SeqCst);
        self.shared.held.lock().unwrap().clear();
    }

    /// Listens again on the same port.
    pub fn resume(&mut self) {
        if self.accept.is_none() {
            let listener = TcpListener::bind(self.addr).expect("bind the same port again");
            self.accept = Some(Acceptor::smtp(listener, self.shared.clone()));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The accept loop of one listening period.
struct Acceptor {
    addr: SocketAddr,
    stopping: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Acceptor {
    /// Accepts on `listener` and hands each connection to `connected` until
    /// stopped.
    fn run(listener: TcpListener, connected: impl Fn(TcpStream) + Send + 'static) -> Acceptor {
        let addr = listener.local_addr().unwrap();
        let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stopping.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    connected(stream);
                }
            }
        });
        Acceptor {
            addr,
            stopping,
            thread,
        }
    }

    /// The SMTP conversation, a thread per connection.
    fn smtp(listener: TcpListener, shared: Arc<Shared>) -> Acceptor {
        Self::run(listener, move |stream| {
            shared.connections.fetch_add(1, Ordering::SeqCst);
            if shared.hanging.load(Ordering::SeqCst) {
                shared.held.lock().unwrap().push(stream);
                return;
            }
            let shared = shared.clone();
            std::thread::spawn(move || {
                let _ = serve(stream, &shared);
            });
        })
    }

    fn stop(self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the blocked accept; the loop then drops the listener.
        let _ = TcpStream::connect(self.addr);
        let _ = self.thread.join();
    }
}

/// One SMTP conversation, line by line through mailin's state machine.
fn serve(stream: TcpStream, shared: &Arc<Shared>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    // Answers go out at once: small writes waiting for an ACK (Nagle) would
    // cost each command of the conversation a delayed-ACK round.
    stream.set_nodelay(true)?;
    let peer = stream.peer_addr()?.ip();
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut builder = SessionBuilder::new("gatehouse-test-sink");
    if shared.credentials.is_some() {
        builder
            .enable_auth(mailin::AuthMechanism::Plain)
            .enable_auth(mailin::AuthMechanism::Login)
            .insecure_enable_plaintext_auth();
    }
    let mut session = builder.build(peer, Conversation::new(shared.clone()));
    session.greeting().write_to(&mut writer)?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let response = session.process(&line);
        match response.action {
            Action::Reply => response.write_to(&mut writer)?,
            Action::Close => {
                response.write_to(&mut writer)?;
                return Ok(());
            }
            Action::NoReply => {}
            Action::UpgradeTls => return Ok(()),
        }
        writer.flush()?;
    }
}

/// mailin's callbacks for one connection.
struct Conversation {
    shared: Arc<Shared>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
    authenticated: bool,
}

impl Conversation {
    fn new(shared: Arc<Shared>) -> Self {
        Conversation {
            shared,
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
            authenticated: false,
        }
    }

    fn check(&mut self, user: &str, password: &str) -> Response {
        match &self.shared.credentials {
            Some((u, p)) if u == user && p == password => {
                self.authenticated = true;
                mailin::response::AUTH_OK
            }
            _ => mailin::response::INVALID_CREDENTIALS,
        }
    }
}

impl Handler for Conversation {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        if self.shared.credentials.is_some() && !self.authenticated {
            return mailin::response::AUTHENTICATION_REQUIRED;
        }
        self.from = from.to_owned();
        self.to.clear();
        mailin::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let store = self.shared.store.lock().unwrap();
        if store.refused.iter().any(|r| r == to) {
            return mailin::response::NO_MAILBOX;
        }
        if store.deferred.iter().any(|r| r == to) {
            return Response::custom(451, "4.2.0 Try again later".into());
        }
        self.to.push(to.to_owned());
        mailin::response::OK
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = Mail::parse(
            self.from.clone(),
            self.to.clone(),
            std::mem::take(&mut self.data),
        );
        self.shared.store.lock().unwrap().messages.push(mail);
        self.shared.arrived.notify_all();
        mailin::response::OK
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        self.check(user, password)
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        self.check(user, password)
    }
}

/// A port that accepts connections and never says a word (a mail server that
/// hangs): clients wait until their timeout.
pub struct Tarpit {
    addr: SocketAddr,
    connections: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: Option<Acceptor>,
}

impl Tarpit {
    pub fn start() -> Tarpit {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(Mutex::new(Vec::new()));
        let held = connections.clone();
        let acceptor = Acceptor::run(listener, move |stream| held.lock().unwrap().push(stream));
        Tarpit {
            addr,
            connections,
            acceptor: Some(acceptor),
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.addr.port())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Connections accepted (and left hanging) so far.
    pub fn connections(&self) -> usize {
        self.connections.lock().unwrap().len()
    }
}

impl Drop for Tarpit {
    fn drop(&mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.stop();
        }
    }
}
